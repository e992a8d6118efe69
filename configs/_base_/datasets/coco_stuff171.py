# Zero-shot COCO-Stuff 164k: 171 classes (*_labelTrainIds.png).
_base_ = './zero_shot_pipelines.py'
dataset_type = 'ZeroShotCOCOStuffDataset'
data_root = 'data/coco_stuff164k'
# The paper's split, from the table cascade_clip.structures.ZERO_SHOT_SPLITS
# (15 unseen classes). The model and the metric are given the same fields.
zero_shot_split = dict(class_names='coco_stuff171')
train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='images/train2017', seg_map_path='annotations/train2017'),
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
            img_path='images/val2017', seg_map_path='annotations/val2017'),
        pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
val_evaluator = dict(type='ZeroShotIoUMetric', **zero_shot_split)
test_evaluator = val_evaluator
