from .class_embeddings import ClassEmbeddings
from .sliding_window import slide_scores, sliding_windows
from .zero_shot_encoder_decoder import ZeroShotEncoderDecoder
from .zero_shot_labels import ZeroShotLabels

__all__ = [
    'ClassEmbeddings', 'ZeroShotEncoderDecoder', 'ZeroShotLabels',
    'slide_scores', 'sliding_windows'
]
