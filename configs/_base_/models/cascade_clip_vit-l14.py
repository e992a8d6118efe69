# What Cascade-CLIP with CLIP ViT-L/14 changes in the ViT-B/16 model
# (cascade_clip_vit-b16.py), applied by the configs named *_vit-l14_*:
# OpenAI's ViT-L-14.pt (clip_pretrain/README.md; for an open_clip ViT-L-14
# checkpoint trained with GELU, as LAION's, also set quick_gelu=False in the
# backbone and the text encoder). The blocks the cascade reads and the
# prompt depth follow the stage rule (docs/method.md §8): each of the
# paper's blocks 5-10 of 12 at its relative depth of 24. The head keeps its
# 64-wide attention heads (12 of them in the 768-wide joint space), so that
# its masks, the heads' mean scaled dot products, keep their scale.
vit_l14_model = dict(
    pretrained='clip_pretrain/ViT-L-14.pt',
    backbone=dict(
        patch_size=14,
        width=1024,
        layers=24,
        heads=16,
        embed_dims=768,
        out_indices=[11, 13, 15, 17, 19, 21],
        prompt_depth=23),
    text_encoder=dict(width=768, heads=12, layers=12, embed_dims=768),
    decode_head=dict(embed_dims=768, num_heads=12))
