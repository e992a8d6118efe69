# Cross-dataset evaluation on Pascal Context-459 (the full annotation,
# converted by tools/dataset_converters/pascal_context_459.py): 459 classes,
# 16-bit labels, 65535 unlabelled; the images of Context-59's validation
# split.
# Test only; no seen/unseen split (all classes).
_base_ = './zero_shot_pipelines.py'
dataset_type = 'PascalContext459Dataset'
data_root = 'data/VOCdevkit/VOC2010'
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClassContext459'),
        ann_file='ImageSets/SegmentationContext/val.txt',
        pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
zero_shot_split = dict(class_names='pascal_context459', unseen_classes=[])
val_evaluator = dict(
    type='ZeroShotIoUMetric',
    **zero_shot_split,
    class_split=False,
    ignore_index=65535)
test_evaluator = val_evaluator
