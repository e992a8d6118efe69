# The COCO -> Pascal VOC-21 (with background) cross-dataset config shrunk for
# tests and CPU runs: a tiny COCO-Stuff model
# (cascade-clip_tiny_1xb2-20_coco-stuff171-64x64_inductive) evaluated on the
# data of `python tools/make_tiny_dataset.py voc21 data/tiny`.
_base_ = '../cross_dataset/cascade-clip_vit-b16_coco-stuff171-to-voc21-512x512.py'  # noqa
custom_imports = dict(imports=['cascade_clip'], allow_failed_imports=False)
crop_size = (64, 64)
model = dict(
    pretrained='clip_pretrain/tiny-clip.pt',
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        input_resolution=64, width=64, heads=4, output_dim=32,
        num_prompt_tokens=4),
    text_encoder=dict(width=32, heads=4, layers=2, embed_dim=32),
    decode_head=dict(embed_dims=32, num_heads=4, img_size=64),
    test_cfg=dict(crop_size=crop_size, stride=(48, 48)))
test_pipeline = [
    dict(type='CheckedLoadImageFromFile'),
    dict(type='ResizeShortestEdge', scale=64, max_size=100000),
    dict(type='CheckedLoadAnnotations'),
    dict(type='PackSegInputs')
]
val_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root='data/tiny/VOCdevkit/VOC2012', pipeline=test_pipeline))
test_dataloader = val_dataloader
