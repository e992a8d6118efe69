"""Where a zero-shot segmentor's class embeddings come from, and their
cache."""
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..text_embeddings import (encode_class_names, load_text_embeddings,
                               resolve_templates)


class ClassEmbeddings(nn.Module):
    """The ``(K, C)`` class embeddings of a segmentor, computed once and
    cached (not saved in checkpoints).

    Sources, first that applies: embeddings given (:meth:`give`), a ``.npy``
    file (``file``), or the class names embedded with the text encoder and
    ``templates``. When the text encoder trains and nothing is given or
    read, they are computed at every pass instead.

    Args:
        templates: Prompt templates (``'single'``, ``'multi'`` or a list).
        file: ``.npy`` file of the embeddings.
    """

    def __init__(self,
                 templates: Union[str, Sequence[str]] = 'single',
                 file: Optional[str] = None):
        super().__init__()
        self.templates = resolve_templates(templates)
        self.file = file
        self.register_buffer('cache', None, persistent=False)
        self.register_buffer('given', None, persistent=False)
        self.source: Optional[str] = None

    def give(self, embeddings: Optional[Tensor]) -> None:
        """Uses ``embeddings`` (``None``: none given) from now on."""
        self.given = embeddings
        self.reset()

    def reset(self) -> None:
        """Empties the cache (the text encoder's weights may have changed);
        given embeddings stay."""
        self.cache = self.given
        self.source = None if self.given is None else 'given'

    def every_pass(self, text_encoder: nn.Module) -> bool:
        """Whether the embeddings are computed at every pass: the text
        encoder trains and is their source."""
        return (self.file is None and self.given is None
                and any(p.requires_grad for p in text_encoder.parameters()))

    def compute(self, text_encoder: nn.Module, class_names: List[str],
                shape: Tuple[int, int]) -> Tensor:
        """Reads or computes the embeddings, checked against ``shape``
        ``(num_classes, embed_dims)``."""
        device = next(text_encoder.parameters()).device
        if self.file:
            return load_text_embeddings(self.file, *shape).to(device)
        # Cached for the whole run, so computed in full precision even when
        # the first call happens under autocast.
        trains = any(p.requires_grad for p in text_encoder.parameters())
        with torch.set_grad_enabled(trains), \
                torch.autocast(device.type, enabled=False):
            embeddings = encode_class_names(text_encoder, class_names,
                                            self.templates)
        check_shape(embeddings, shape, 'the text encoder\'s embeddings')
        return embeddings

    def get(self, text_encoder: nn.Module, class_names: List[str],
            shape: Tuple[int, int]) -> Tensor:
        """The embeddings, from the cache (filled on first use)."""
        if self.every_pass(text_encoder):
            return self.compute(text_encoder, class_names, shape)
        if self.cache is None:
            self.cache = self.compute(text_encoder, class_names, shape)
            self.source = 'file' if self.file else 'text encoder'
        return self.cache

    def fill(self,
             text_encoder: nn.Module,
             class_names: List[str],
             shape: Tuple[int, int],
             placeholder: bool = False) -> str:
        """Fills the cache now instead of at the first pass; with
        ``placeholder``, random unit vectors of ``shape`` unless given or
        read from a file. Returns the source (``'every pass'`` when nothing
        is cached)."""
        if self.every_pass(text_encoder):
            return 'every pass'
        if self.cache is None and placeholder and not self.file:
            generator = torch.Generator().manual_seed(0)
            embeddings = torch.randn(*shape, generator=generator)
            self.cache = F.normalize(
                embeddings, dim=-1).to(next(text_encoder.parameters()).device)
            self.source = 'placeholder'
        with torch.no_grad():
            self.get(text_encoder, class_names, shape)
        return self.source


def check_shape(embeddings: Tensor, shape: Tuple[int, int],
                source: str) -> None:
    """Raises ``ValueError`` naming ``source`` when ``embeddings`` are not
    ``shape`` ``(num_classes, embed_dims)``."""
    if tuple(embeddings.shape) != tuple(shape):
        raise ValueError(
            f'{source} have shape {tuple(embeddings.shape)}; the model '
            f'needs {tuple(shape)} (num_classes, embed_dims)')
