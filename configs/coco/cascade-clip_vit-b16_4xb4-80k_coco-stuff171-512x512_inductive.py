_base_ = [
    '../_base_/models/cascade_clip_vit-b16.py',
    '../_base_/datasets/coco_stuff171.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_80k.py'
]
custom_imports = dict(imports=['cascade_clip'], allow_failed_imports=False)
# Inductive: trained on the 156 seen classes only.
model = dict(
    **_base_.zero_shot_split,
    prompt_templates='multi',
    backbone=dict(num_prompt_tokens=50))
