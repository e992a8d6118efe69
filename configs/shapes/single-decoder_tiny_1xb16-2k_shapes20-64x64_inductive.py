_base_ = './cascade-clip_tiny_1xb16-2k_shapes20-64x64_inductive.py'
custom_imports = dict(imports=['cascade_clip'], allow_failed_imports=False)
# Ablation (a), the baseline without the cascade: one decoder on the last
# block's map only (the ZegCLIP-style model Cascade-CLIP starts from).
model = dict(backbone=dict(out_indices=[]), decode_head=dict(stages=[[0]]))
