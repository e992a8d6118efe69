from .cascade_head import CascadeHead

__all__ = ['CascadeHead']
