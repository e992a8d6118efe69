# Zero-shot Pascal Context: 59 classes (background dropped).
_base_ = './zero_shot_pipelines.py'
dataset_type = 'ZeroShotPascalContext59Dataset'
data_root = 'data/VOCdevkit/VOC2010'
# The paper's split, from the table cascade_clip.structures.ZERO_SHOT_SPLITS
# (10 unseen classes). The model and the metric are given the same fields.
zero_shot_split = dict(class_names='context59')
train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClassContext'),
        ann_file='ImageSets/SegmentationContext/train.txt',
        pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClassContext'),
        ann_file='ImageSets/SegmentationContext/val.txt',
        pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
val_evaluator = dict(type='ZeroShotIoUMetric', **zero_shot_split)
test_evaluator = val_evaluator
