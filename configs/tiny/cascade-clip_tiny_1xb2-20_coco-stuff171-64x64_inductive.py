# The COCO-Stuff inductive config with the tiny model (see the tiny VOC
# config), data from tools/make_tiny_dataset.py coco_stuff171 data/tiny,
# 20 iterations.
_base_ = [
    '../coco/cascade-clip_vit-b16_4xb4-80k_coco-stuff171-512x512_inductive.py',  # noqa
    '../_base_/models/cascade_clip_tiny.py'
]
custom_imports = dict(imports=['cascade_clip'], allow_failed_imports=False)
crop_size = _base_.tiny_crop_size
missing_data_hint = (
    'This tiny config reads generated data: write it with `python '
    'tools/make_tiny_dataset.py coco_stuff171 data/tiny` in the folder you '
    'run the tools in.')
data_root = 'data/tiny/coco_stuff164k'
model = _base_.tiny_model
train_pipeline = _base_.tiny_train_pipeline
test_pipeline = _base_.tiny_test_pipeline
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        missing_data_hint=missing_data_hint,
        pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        missing_data_hint=missing_data_hint,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=5),
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=1e-6,
        by_epoch=False,
        begin=0,
        end=20),
]
train_cfg = dict(max_iters=20, val_interval=20)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=20))
env_cfg = dict(cudnn_benchmark=False)
