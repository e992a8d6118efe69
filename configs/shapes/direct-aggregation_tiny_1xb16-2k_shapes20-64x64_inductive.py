_base_ = './cascade-clip_tiny_1xb16-2k_shapes20-64x64_inductive.py'
custom_imports = dict(imports=['cascade_clip'], allow_failed_imports=False)
# Ablation (b), direct aggregation: the seven maps the cascade reads (blocks
# 5-10 and the last) fused into ONE decoder, with one learnable weight per
# map starting equal (1/7 each), instead of a decoder per stage.
model = dict(
    decode_head=dict(stages=[[0, 1, 2, 3, 4, 5, 6]], nga_init='uniform'))
