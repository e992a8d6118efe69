# Cross-dataset evaluation on ADE20K-150 (ADEChallengeData2016, as
# downloaded): 150 classes, raw 0 ("other") ignored.
# Test only; no seen/unseen split (all classes).
_base_ = './zero_shot_pipelines.py'
dataset_type = 'ADE20K150Dataset'
data_root = 'data/ade/ADEChallengeData2016'
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='images/validation',
            seg_map_path='annotations/validation'),
        pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
zero_shot_split = dict(class_names='ade20k150', unseen_classes=[])
val_evaluator = dict(
    type='ZeroShotIoUMetric', **zero_shot_split, class_split=False)
test_evaluator = val_evaluator
