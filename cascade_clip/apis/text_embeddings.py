"""Class text embeddings as the ``.npy`` files the configs can read;
``tools/gen_text_embeddings.py`` is a thin layer over this function."""
from typing import List, Optional, Sequence, Union

from torch import Tensor

from ..models.text_embeddings import encode_class_names, save_text_embeddings
from ..models.text_encoders import CLIPTextTransformer
from ..structures import resolve_class_names
from ..utils.device import default_device


def generate_text_embeddings(weights: str,
                             class_names: Union[str, Sequence[str]],
                             templates: Union[str, Sequence[str]] = 'single',
                             out: Optional[str] = None,
                             heads: Optional[int] = None,
                             device: Optional[str] = None,
                             quick_gelu: bool = True) -> Tensor:
    """Embeds class names with CLIP's text encoder.

    Args:
        weights: CLIP weight file (``ViT-B-16.pt``, a state dict or
            ``.safetensors``).
        class_names: A list of names, a setting (``'voc20'``, ``'context59'``,
            ``'coco_stuff171'``) or a text file with one name per line.
        templates: ``'single'`` (``a photo of a {}``), ``'multi'`` (the 15
            templates) or a list of templates.
        out: ``.npy`` file to write, if given.
        heads: Attention heads of the text encoder (default: OpenAI's
            ``width // 64``).
        device: Where to run (default: CUDA if available).
        quick_gelu: The CLIP's activation, which its file does not store:
            QuickGELU (OpenAI's) or GELU (``False``: most of open_clip's, see
            clip_pretrain/README.md).

    Returns:
        ``(K, C)`` L2-normalised embeddings, in the order of the classes.
    """
    names: List[str] = resolve_class_names(class_names)
    encoder = CLIPTextTransformer.from_clip_weights(weights, heads, quick_gelu)
    encoder = encoder.to(device or default_device()).eval()
    embeddings = encode_class_names(encoder, names, templates).cpu()
    if out:
        save_text_embeddings(embeddings, out)
    return embeddings
