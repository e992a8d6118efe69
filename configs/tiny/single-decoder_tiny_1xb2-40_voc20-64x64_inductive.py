# The tiny copy of configs/voc/single-decoder_*: the last block's map only.
_base_ = './cascade-clip_tiny_1xb2-40_voc20-64x64_inductive.py'
custom_imports = dict(imports=['cascade_clip'], allow_failed_imports=False)
model = dict(backbone=dict(out_indices=[]), decode_head=dict(stages=[[0]]))
