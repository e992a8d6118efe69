from .class_embeddings import ClassEmbeddings
from .torch_ops import TORCH, TorchOps
from .zero_shot_encoder_decoder import ZeroShotEncoderDecoder
from .zero_shot_labels import ZeroShotLabels

__all__ = [
    'ClassEmbeddings', 'TORCH', 'TorchOps', 'ZeroShotEncoderDecoder',
    'ZeroShotLabels'
]
