_base_ = './cascade-clip_vit-b16_4xb4-20k_voc20-512x512_inductive.py'
custom_imports = dict(imports=['cascade_clip'], allow_failed_imports=False)
# Baseline without the cascade: one decoder on the last block's map only
# (the ZegCLIP-style model Cascade-CLIP starts from).
model = dict(backbone=dict(out_indices=[]), decode_head=dict(stages=[[0]]))
