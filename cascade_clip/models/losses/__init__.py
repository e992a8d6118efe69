from .mask_loss import MaskLoss

__all__ = ['MaskLoss']
