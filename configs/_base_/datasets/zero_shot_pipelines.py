# Data pipelines shared by the three zero-shot datasets (docs/method.md §5-6).
crop_size = (512, 512)
train_pipeline = [
    dict(type='CheckedLoadImageFromFile'),
    dict(type='CheckedLoadAnnotations'),
    dict(
        type='RandomResize',
        scale=(2048, 512),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='CheckedLoadImageFromFile'),
    # short side exactly 512, whatever the long side (no limit in effect)
    dict(type='ResizeShortestEdge', scale=512, max_size=100000),
    dict(type='CheckedLoadAnnotations'),
    dict(type='PackSegInputs')
]
