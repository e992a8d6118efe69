# Its ViT-B/16 sibling (the first base) with CLIP ViT-L/14
# (configs/_base_/models/cascade_clip_vit-l14.py); all else is the sibling's.
_base_ = [
    './cascade-clip_vit-b16_4xb4-20k_voc20-512x512_inductive.py',
    '../_base_/models/cascade_clip_vit-l14.py'
]
custom_imports = dict(imports=['cascade_clip'], allow_failed_imports=False)
model = _base_.vit_l14_model
