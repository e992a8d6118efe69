# Cross-dataset evaluation on Pascal VOC 2012 val with background: 21
# classes (0 background), 255 void.
# Test only; no seen/unseen split (all classes).
_base_ = './zero_shot_pipelines.py'
dataset_type = 'PascalVOC21Dataset'
data_root = 'data/VOCdevkit/VOC2012'
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClass'),
        ann_file='ImageSets/Segmentation/val.txt',
        pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
zero_shot_split = dict(class_names='voc21', unseen_classes=[])
val_evaluator = dict(
    type='ZeroShotIoUMetric', **zero_shot_split, class_split=False)
test_evaluator = val_evaluator
