# Cascade-CLIP on your own dataset (docs/datasets.md, "Your own dataset").
# Copy this file and change the three lines marked EDIT; everything else is
# the paper's VOC recipe (20k iterations, 512x512 crops) on one GPU with
# batch 4.
_base_ = [
    '../_base_/models/cascade_clip_vit-b16.py',
    '../_base_/datasets/zero_shot_pipelines.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_20k.py'
]
custom_imports = dict(imports=['cascade_clip'], allow_failed_imports=False)

# EDIT: the folder that holds classes.txt, images/{train,val}/*.jpg and
# labels/{train,val}/*.png (label value k = line k of classes.txt, from 0;
# 255 = unlabelled).
data_root = 'data/my_dataset'
class_file = data_root + '/classes.txt'
# EDIT: the classes never trained on, by name as in classes.txt ([] for a
# fully supervised model); they are evaluated as unseen.
unseen_classes = ['car', 'tree']
# EDIT: 'single' ("a photo of a {}") or 'multi' (15 templates).
prompt_templates = 'multi'

# The model and the metric get the same split.
zero_shot_split = dict(class_names=class_file, unseen_classes=unseen_classes)
model = dict(
    **zero_shot_split,
    prompt_templates=prompt_templates,
    backbone=dict(num_prompt_tokens=10))

dataset_type = 'CustomZeroShotDataset'
train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        classes='classes.txt',
        data_prefix=dict(img_path='images/train', seg_map_path='labels/train'),
        pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        classes='classes.txt',
        data_prefix=dict(img_path='images/val', seg_map_path='labels/val'),
        pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
val_evaluator = dict(type='ZeroShotIoUMetric', **zero_shot_split)
test_evaluator = val_evaluator
