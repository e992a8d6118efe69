from .transformer import (LayerNorm, QuickGELU, ResidualAttentionBlock,
                          SelfAttention, Transformer, init_clip_transformer,
                          resize_grid_embedding, set_trainable)

__all__ = [
    'LayerNorm', 'QuickGELU', 'ResidualAttentionBlock', 'SelfAttention',
    'Transformer', 'init_clip_transformer', 'resize_grid_embedding',
    'set_trainable'
]
