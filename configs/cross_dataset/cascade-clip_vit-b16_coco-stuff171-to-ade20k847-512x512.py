_base_ = [
    '../_base_/models/cascade_clip_vit-b16.py',
    '../_base_/datasets/ade20k847.py', '../_base_/default_runtime.py'
]
custom_imports = dict(imports=['cascade_clip'], allow_failed_imports=False)
# Cross-dataset: the COCO-Stuff inductive model (80k) evaluated on
# ADE20K-847 with its class names; mIoU and pAcc over all its classes.
# The model counts every class as seen (the seen-score shift changes no
# label); its class embeddings are computed once, at the first image.
#   python tools/test.py THIS_CONFIG work_dirs/cascade-clip_vit-b16_4xb4-80k_coco-stuff171-512x512_inductive/iter_80000.pth  # noqa
zero_shot_split = dict(class_names='ade20k847', unseen_classes=[])
model = dict(
    **zero_shot_split,
    prompt_templates='multi',
    backbone=dict(num_prompt_tokens=50))
