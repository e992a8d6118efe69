# The tiny Cascade-CLIP of the tests, the demo and CPU runs, defined once:
# the configs in configs/tiny/ apply it to their full-size sibling, the tests
# read it from there, and cascade_clip.testing.write_tiny_clip writes a CLIP
# of these sizes (clip_pretrain/tiny-clip.pt, tools/make_tiny_clip.py).
# Widths 64 (image) / 32 (text, joint space), 64x64 crops.
tiny_crop_size = (64, 64)
tiny_model = dict(
    pretrained='clip_pretrain/tiny-clip.pt',
    data_preprocessor=dict(size=tiny_crop_size),
    backbone=dict(
        input_resolution=64,
        patch_size=16,
        width=64,
        layers=12,
        heads=4,
        embed_dims=32,
        num_prompt_tokens=4),
    text_encoder=dict(
        context_length=77, width=32, heads=4, layers=2, embed_dims=32),
    decode_head=dict(embed_dims=32, num_heads=4, img_size=64),
    test_cfg=dict(crop_size=tiny_crop_size, stride=(48, 48)))
tiny_train_pipeline = [
    dict(type='CheckedLoadImageFromFile'),
    dict(type='CheckedLoadAnnotations'),
    dict(
        type='RandomResize',
        scale=(256, 64),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=tiny_crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
tiny_test_pipeline = [
    dict(type='CheckedLoadImageFromFile'),
    dict(type='ResizeShortestEdge', scale=64, max_size=100000),
    dict(type='CheckedLoadAnnotations'),
    dict(type='PackSegInputs')
]
