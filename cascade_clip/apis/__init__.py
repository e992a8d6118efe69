"""Entry points: :func:`init_model` (the one way to build and load a model),
the open-vocabulary inferencer, the train / test configs and their command
lines (:mod:`.train`, :mod:`.test`: ``python -m cascade_clip.apis.train``,
what ``tools/train.py`` runs; not imported here), and pictures of
predictions."""
from ..engine.experiment import test_config, train_config
from .inference import OpenVocabularySegmenter, segment_images
from .model import init_model, load_config
from .predictions import visualize_predictions

__all__ = [
    'init_model', 'load_config', 'OpenVocabularySegmenter', 'segment_images',
    'test_config', 'train_config', 'visualize_predictions'
]
