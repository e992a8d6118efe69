from .low_precision import (autocast_dtype, autocast_param, autocast_state,
                            cast_linear, compiling, frozen_cast)
from .resize import bilinear_matrix, resize_bilinear
from .transformer import (LayerNorm, QuickGELU, ResidualAttentionBlock,
                          SelfAttention, Transformer, init_clip_transformer,
                          resize_grid_embedding, set_trainable)

__all__ = [
    'LayerNorm', 'QuickGELU', 'ResidualAttentionBlock', 'SelfAttention',
    'Transformer', 'init_clip_transformer', 'resize_grid_embedding',
    'set_trainable', 'bilinear_matrix', 'resize_bilinear', 'autocast_dtype',
    'autocast_param', 'autocast_state', 'cast_linear', 'compiling',
    'frozen_cast'
]
