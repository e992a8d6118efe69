from .clip_text_transformer import CLIPTextTransformer

__all__ = ['CLIPTextTransformer']
