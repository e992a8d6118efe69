# The custom-dataset template shrunk for tests and CPU runs: tiny CLIP,
# 64x64 crops, the data of `python tools/make_tiny_dataset.py custom
# data/tiny` (classes sky grass road car person tree building water; car and
# tree unseen), 20 iterations.
_base_ = '../custom/cascade-clip_vit-b16_1xb4-20k_custom-512x512_inductive.py'
custom_imports = dict(imports=['cascade_clip'], allow_failed_imports=False)
crop_size = (64, 64)
data_root = 'data/tiny/my_dataset'
model = dict(
    class_names=data_root + '/classes.txt',
    prompt_templates='single',
    pretrained='clip_pretrain/tiny-clip.pt',
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        input_resolution=64, width=64, heads=4, output_dim=32,
        num_prompt_tokens=4),
    text_encoder=dict(width=32, heads=4, layers=2, embed_dim=32),
    decode_head=dict(embed_dims=32, num_heads=4, img_size=64),
    test_cfg=dict(crop_size=crop_size, stride=(48, 48)))
train_pipeline = [
    dict(type='CheckedLoadImageFromFile'),
    dict(type='CheckedLoadAnnotations'),
    dict(
        type='RandomResize',
        scale=(256, 64),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='CheckedLoadImageFromFile'),
    dict(type='ResizeShortestEdge', scale=64, max_size=100000),
    dict(type='CheckedLoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
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
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(interval=20))
env_cfg = dict(cudnn_benchmark=False)
