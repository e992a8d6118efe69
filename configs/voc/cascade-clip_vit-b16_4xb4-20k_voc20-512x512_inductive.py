_base_ = [
    '../_base_/models/cascade_clip_vit-b16.py', '../_base_/datasets/voc20.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_20k.py'
]
custom_imports = dict(imports=['cascade_clip'], allow_failed_imports=False)
# Inductive: trained on the 15 seen classes only; VOC uses one prompt.
model = dict(
    **_base_.zero_shot_split,
    prompt_templates='single',
    backbone=dict(num_prompt_tokens=10))
