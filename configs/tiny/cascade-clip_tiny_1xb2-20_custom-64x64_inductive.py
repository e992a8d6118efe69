# The custom-dataset template shrunk for tests and CPU runs: tiny CLIP,
# 64x64 crops, the data of `python tools/make_tiny_dataset.py custom
# data/tiny` (classes sky grass road car person tree building water; car and
# tree unseen), 20 iterations.
_base_ = [
    '../custom/cascade-clip_vit-b16_1xb4-20k_custom-512x512_inductive.py',
    '../_base_/models/cascade_clip_tiny.py'
]
custom_imports = dict(imports=['cascade_clip'], allow_failed_imports=False)
crop_size = _base_.tiny_crop_size
missing_data_hint = (
    'This tiny config reads generated data: write it with `python '
    'tools/make_tiny_dataset.py custom data/tiny` in the folder you run '
    'the tools in.')
data_root = 'data/tiny/my_dataset'
zero_shot_split = dict(
    class_names=data_root + '/classes.txt', unseen_classes=['car', 'tree'])
model = dict(_base_.tiny_model, **zero_shot_split, prompt_templates='single')
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
val_evaluator = dict(**zero_shot_split)
test_evaluator = val_evaluator
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
