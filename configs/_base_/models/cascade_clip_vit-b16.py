# Cascade-CLIP with CLIP ViT-B/16 (docs/method.md §2-5). The top-level configs
# set the classes and their split (the dataset's zero_shot_split) and the
# prompt tokens.
data_preprocessor = dict(
    type='SegDataPreProcessor',
    # ImageNet's statistics on 0-255 RGB, as every released config of the
    # paper normalises in training and testing (not CLIP's own
    # mean=[122.771, 116.746, 104.094], std=[68.501, 66.632, 70.323]): its
    # checkpoints were trained on these inputs. New work may choose CLIP's,
    # a departure from the paper (the shapes world does, for its own CLIP).
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(512, 512))
model = dict(
    type='ZeroShotEncoderDecoder',
    data_preprocessor=data_preprocessor,
    pretrained='clip_pretrain/ViT-B-16.pt',
    class_names=None,
    prompt_templates='multi',
    self_training=False,
    backbone=dict(
        type='CLIPVisionTransformer',
        input_resolution=512,
        patch_size=16,
        width=768,
        layers=12,
        heads=12,
        embed_dims=512,
        out_indices=[5, 6, 7, 8, 9, 10],
        num_prompt_tokens=10,
        prompt_depth=11,
        prompt_dropout=0.1,
        # No stochastic depth, as in the paper's training: its configs set
        # drop_path_rate=0.1, but its blocks never call their DropPath.
        drop_path_rate=0.0,
        # the paper trains only the visual prompts of the image encoder
        freeze=True,
        frozen_exclude=['prompt']),
    text_encoder=dict(
        type='CLIPTextTransformer',
        context_length=77,
        width=512,
        heads=8,
        layers=12,
        embed_dims=512,
        freeze=True,
        frozen_exclude=[]),
    decode_head=dict(
        type='CascadeHead',
        embed_dims=512,
        # maps of blocks 5-7, blocks 8-10, and the last block
        stages=[[0, 1, 2], [3, 4, 5], [6]],
        num_layers=3,
        num_heads=8,
        ffn_ratio=4,
        dropout=0.1,
        img_size=512,
        seen_score_shift=0.1,
        # as the paper's training starts: PyTorch's default initialisation,
        # each decoder's 3 layers equal (its head's own init is never called)
        init_mode='paper',
        loss_decode=dict(type='MaskLoss', focal_weight=100.0,
                         dice_weight=1.0)),
    test_cfg=dict(mode='slide', crop_size=(512, 512), stride=(426, 426)))
