from .resize import bilinear_matrix, resize_bilinear
from .transformer import (LayerNorm, QuickGELU, ResidualAttentionBlock,
                          SelfAttention, Transformer, init_clip_transformer,
                          resize_grid_embedding, set_trainable)

__all__ = [
    'LayerNorm', 'QuickGELU', 'ResidualAttentionBlock', 'SelfAttention',
    'Transformer', 'init_clip_transformer', 'resize_grid_embedding',
    'set_trainable', 'bilinear_matrix', 'resize_bilinear'
]
