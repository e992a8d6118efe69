# Zero-shot Pascal VOC 2012: 20 classes (background dropped), trained on
# VOC train + SBD aug (data/README.md), evaluated on VOC val.
_base_ = './zero_shot_pipelines.py'
dataset_type = 'PascalVOC20Dataset'
data_root = 'data/VOCdevkit/VOC2012'
# The paper's split, from the table cascade_clip.structures.ZERO_SHOT_SPLITS:
# classes 15-19 (pottedplant sheep sofa train tvmonitor) unseen. The model
# and the metric are given the same fields.
zero_shot_split = dict(class_names='voc20')
voc_train = dict(
    type=dataset_type,
    data_root=data_root,
    data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
    ann_file='ImageSets/Segmentation/train.txt',
    pipeline={{_base_.train_pipeline}})
sbd_aug = dict(
    type=dataset_type,
    data_root=data_root,
    data_prefix=dict(
        img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
    ann_file='ImageSets/Segmentation/aug.txt',
    pipeline={{_base_.train_pipeline}})
train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='ConcatDataset', datasets=[voc_train, sbd_aug]))
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
val_evaluator = dict(type='ZeroShotIoUMetric', **zero_shot_split)
test_evaluator = val_evaluator
