# Its ViT-B/16 sibling (the first base) with CLIP ViT-L/14
# (configs/_base_/models/cascade_clip_vit-l14.py), started from the ViT-L/14
# inductive model at the same iteration; all else is the sibling's.
_base_ = [
    './cascade-clip_vit-b16_4xb8-10k_voc20-512x512_transductive.py',
    '../_base_/models/cascade_clip_vit-l14.py'
]
custom_imports = dict(imports=['cascade_clip'], allow_failed_imports=False)
load_from = 'work_dirs/cascade-clip_vit-l14_4xb4-20k_voc20-512x512_inductive/iter_10000.pth'  # noqa
model = _base_.vit_l14_model
