_base_ = './cascade-clip_vit-b16_4xb4-40k_context59-512x512_inductive.py'
custom_imports = dict(imports=['cascade_clip'], allow_failed_imports=False)
# Direct aggregation: the seven maps the cascade reads (blocks 5-10 and the
# last) fused into ONE decoder, with one learnable weight per map starting
# equal (1/7 each), instead of a decoder per stage; the ablation of the
# paper's abstract, next to single-decoder_* (the last map only).
model = dict(
    decode_head=dict(stages=[[0, 1, 2, 3, 4, 5, 6]], nga_init='uniform'))
