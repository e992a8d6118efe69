from .clip_vision_transformer import CLIPVisionTransformer

__all__ = ['CLIPVisionTransformer']
