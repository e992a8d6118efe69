# The COCO -> ADE20K-150 cross-dataset config shrunk for
# tests and CPU runs: a tiny COCO-Stuff model
# (cascade-clip_tiny_1xb2-20_coco-stuff171-64x64_inductive) evaluated on the
# data of `python tools/make_tiny_dataset.py ade20k150 data/tiny`.
_base_ = [
    '../cross_dataset/cascade-clip_vit-b16_coco-stuff171-to-ade20k150-512x512.py',  # noqa
    '../_base_/models/cascade_clip_tiny.py'
]
custom_imports = dict(imports=['cascade_clip'], allow_failed_imports=False)
crop_size = _base_.tiny_crop_size
missing_data_hint = (
    'This tiny config reads generated data: write it with `python '
    'tools/make_tiny_dataset.py ade20k150 data/tiny` in the folder you run '
    'the tools in.')
# One prompt template instead of 15: 15x fewer prompts for the CPU to embed
# (the real config's 15 templates are what docs/inference.md measures).
model = dict(_base_.tiny_model, prompt_templates='single')
test_pipeline = _base_.tiny_test_pipeline
val_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root='data/tiny/ADEChallengeData2016',
        missing_data_hint=missing_data_hint,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
