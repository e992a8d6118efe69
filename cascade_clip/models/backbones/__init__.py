from .clip_vision_tower import CLIPVisionTower
from .clip_vision_transformer import CLIPVisionTransformer

__all__ = ['CLIPVisionTower', 'CLIPVisionTransformer']
