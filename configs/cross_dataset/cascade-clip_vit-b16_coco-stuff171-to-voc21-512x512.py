_base_ = [
    '../_base_/models/cascade_clip_vit-b16.py', '../_base_/datasets/voc21.py',
    '../_base_/default_runtime.py'
]
custom_imports = dict(imports=['cascade_clip'], allow_failed_imports=False)
# Cross-dataset: the COCO-Stuff inductive model (80k) evaluated on Pascal
# VOC-21 (with background, VOC's single prompt) with its class names; mIoU
# and pAcc over all its classes.
# The model counts every class as seen (the seen-score shift changes no
# label); its class embeddings are computed once, at the first image.
#   python tools/test.py THIS_CONFIG work_dirs/cascade-clip_vit-b16_4xb4-80k_coco-stuff171-512x512_inductive/iter_80000.pth  # noqa
zero_shot_split = dict(class_names='voc21', unseen_classes=[])
model = dict(
    **zero_shot_split,
    prompt_templates='single',
    backbone=dict(num_prompt_tokens=50))
