_base_ = [
    '../_base_/models/cascade_clip_vit-b16.py', '../_base_/datasets/voc20.py',
    '../_base_/default_runtime.py'
]
custom_imports = dict(imports=['cascade_clip'], allow_failed_imports=False)
# Cross-dataset: the COCO-Stuff inductive model (80k) evaluated with this
# dataset's text embeddings. The model counts every class as seen, so the
# seen-score shift moves all channels alike and changes no label; the report
# has no seen/unseen split (mIoU and pAcc over all classes).
#   python tools/test.py THIS_CONFIG work_dirs/cascade-clip_vit-b16_4xb4-80k_coco-stuff171-512x512_inductive/iter_80000.pth  # noqa
zero_shot_split = dict(class_names='voc20', unseen_classes=[])
model = dict(
    **zero_shot_split,
    prompt_templates='single',
    backbone=dict(num_prompt_tokens=50))
val_evaluator = dict(
    type='ZeroShotIoUMetric', **zero_shot_split, class_split=False)
test_evaluator = val_evaluator
