"""Class text embeddings: computing them with the CLIP text encoder from the
prompt templates (:mod:`cascade_clip_runtime.classes`), and reading /
writing the ``.npy`` files the paper's configs use."""
import os
import os.path as osp
from typing import Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from cascade_clip_runtime.classes import (MULTI_TEMPLATES, SINGLE_TEMPLATE,
                                          TEMPLATES, resolve_templates)


@torch.no_grad()
def encode_class_names(text_encoder: torch.nn.Module,
                       class_names: Sequence[str],
                       templates: Union[str, Sequence[str]] = 'single',
                       chunk_size: int = 256) -> Tensor:
    """One L2-normalised text embedding per class, ``(K, C)``.

    With several templates each prompt's embedding is normalised, the mean
    over templates taken and normalised again.

    Args:
        text_encoder: Has ``encode(list of str) -> (N, C)``.
        class_names: The classes, in order.
        templates: See :func:`resolve_templates`.
        chunk_size: Prompts encoded per forward pass.
    """
    templates = resolve_templates(templates)
    prompts = [t.format(name) for name in class_names for t in templates]
    embeddings = torch.cat([
        text_encoder.encode(prompts[i:i + chunk_size]).float()
        for i in range(0, len(prompts), chunk_size)
    ])
    embeddings = F.normalize(embeddings, dim=-1)
    embeddings = embeddings.reshape(len(class_names), len(templates), -1)
    return F.normalize(embeddings.mean(dim=1), dim=-1)


def load_text_embeddings(path: str,
                         num_classes: Optional[int] = None,
                         dim: Optional[int] = None) -> Tensor:
    """Reads a ``(K, C)`` ``.npy`` of class embeddings as float32.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the array is not 2-D, or ``K`` / ``C`` differ from
            ``num_classes`` / ``dim``.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'text embedding file not found: {path}. Make it with '
            '`python tools/gen_text_embeddings.py`, or give the config '
            '`class_names` (and `prompt_templates`) to compute the '
            'embeddings at start-up instead.')
    try:
        array = np.load(path)
    except Exception as err:
        raise ValueError(f'cannot read text embeddings from {path}: {err}') \
            from err
    if array.ndim != 2:
        raise ValueError(f'{path} holds an array of shape {array.shape}; '
                         'expected (num_classes, embed_dims)')
    if num_classes is not None and array.shape[0] != num_classes:
        raise ValueError(
            f'{path} holds embeddings for {array.shape[0]} classes, but the '
            f'config has {num_classes}; regenerate the file for this '
            'dataset or fix the class list.')
    if dim is not None and array.shape[1] != dim:
        raise ValueError(f'{path} holds {array.shape[1]}-wide embeddings, '
                         f'but the model works in {dim} dimensions.')
    return torch.from_numpy(np.ascontiguousarray(array)).float()


def save_text_embeddings(embeddings: Tensor, path: str) -> None:
    """Writes ``(K, C)`` embeddings as a float32 ``.npy``."""
    if osp.dirname(path):
        os.makedirs(osp.dirname(path), exist_ok=True)
    np.save(path, embeddings.detach().float().cpu().numpy())


__all__ = [
    'MULTI_TEMPLATES', 'SINGLE_TEMPLATE', 'TEMPLATES', 'resolve_templates',
    'encode_class_names', 'load_text_embeddings', 'save_text_embeddings'
]
