_base_ = [
    '../_base_/models/cascade_clip_vit-b16.py',
    '../_base_/datasets/context59.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_40k.py'
]
custom_imports = dict(imports=['cascade_clip'], allow_failed_imports=False)
# Inductive: trained on the 49 seen classes only.
model = dict(
    **_base_.zero_shot_split,
    prompt_templates='multi',
    backbone=dict(num_prompt_tokens=35))
