from .zero_shot_metric import ZeroShotIoUMetric

__all__ = ['ZeroShotIoUMetric']
