_base_ = './cascade-clip_vit-b16_4xb4-80k_coco-stuff171-512x512_inductive.py'
custom_imports = dict(imports=['cascade_clip'], allow_failed_imports=False)
# Baseline without the cascade: one decoder on the last block's map only.
model = dict(backbone=dict(out_indices=[]), decode_head=dict(stages=[[0]]))
