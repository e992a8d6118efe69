# The tiny copy of configs/voc/direct-aggregation_*: the seven maps of the
# cascade fused into one decoder, with equal starting weights.
_base_ = './cascade-clip_tiny_1xb2-40_voc20-64x64_inductive.py'
custom_imports = dict(imports=['cascade_clip'], allow_failed_imports=False)
model = dict(
    decode_head=dict(stages=[[0, 1, 2, 3, 4, 5, 6]], nga_init='uniform'))
