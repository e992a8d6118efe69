# The tiny VOC run with a 24-block image tower of patch 14, as ViT-L/14's
# (python tools/make_tiny_clip.py clip_pretrain/tiny-clip-24.pt --config
# THIS_FILE writes its random CLIP): the blocks the cascade reads and the
# prompt depth come from the stage rule (docs/method.md §8).
_base_ = './cascade-clip_tiny_1xb2-40_voc20-64x64_inductive.py'
custom_imports = dict(imports=['cascade_clip'], allow_failed_imports=False)
model = dict(
    pretrained='clip_pretrain/tiny-clip-24.pt',
    backbone=dict(
        layers=24,
        patch_size=14,
        out_indices='proportional',
        prompt_depth=None))
