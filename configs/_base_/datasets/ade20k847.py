# Cross-dataset evaluation on ADE20K-847 (the full ADE20K release, converted by
# tools/dataset_converters/ade20k_847.py): 847 classes, 16-bit labels, 65535
# ignored.
# Test only; no seen/unseen split (all classes).
_base_ = './zero_shot_pipelines.py'
dataset_type = 'ADE20K847Dataset'
data_root = 'data/ADE20K_2021_17_01'
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='images_847/validation',
            seg_map_path='annotations_847/validation'),
        pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
zero_shot_split = dict(class_names='ade20k847', unseen_classes=[])
val_evaluator = dict(
    type='ZeroShotIoUMetric',
    **zero_shot_split,
    class_split=False,
    ignore_index=65535)
test_evaluator = val_evaluator
