"""Helpers for tests, the demo and CPU runs: a tiny random CLIP in the real
file formats and tiny generated datasets in the real layouts."""
from .datasets import (DATASET_MAKERS, make_ade20k150, make_ade20k847,
                       make_coco_stuff171, make_context59, make_custom,
                       make_pascal_context459, make_voc20)
from .tiny_clip import (save_clip_weights, tiny_clip_sizes,
                        tiny_clip_state_dict, tiny_model_config,
                        write_tiny_clip)

__all__ = [
    'DATASET_MAKERS', 'make_voc20', 'make_context59', 'make_coco_stuff171',
    'make_ade20k150', 'make_ade20k847', 'make_pascal_context459',
    'make_custom', 'save_clip_weights', 'tiny_clip_sizes',
    'tiny_clip_state_dict', 'tiny_model_config', 'write_tiny_clip'
]
