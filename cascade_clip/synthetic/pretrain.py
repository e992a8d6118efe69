"""Contrastive pre-training of a tiny CLIP on the shapes world.

As OpenAI's CLIP saw the names of classes that zero-shot benchmarks later
hold out, this CLIP sees every class of :mod:`.world` (unseen ones
included) with captions, never a mask. Its towers are this project's own
(``CLIPVisionTower``, ``CLIPTextTransformer``) at tiny widths, with 12 vision
blocks so that the paper's stage indices apply, and it is written with
OpenAI's key names, so that ``pretrained=`` reads it like ``ViT-B-16.pt``.

Losses, each symmetric InfoNCE (image -> caption and caption -> image) with
one learned temperature:
- the global embedding (class token) against the captions, as in CLIP;
- the mean of the projected patch tokens against the captions: without
  it the patch tokens, which Cascade-CLIP's decoders read, barely align
  with the text.
"""
import math
import os
import os.path as osp
import time
from dataclasses import dataclass
from typing import Callable, Dict, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..models.backbones import CLIPVisionTower
from ..models.text_encoders import CLIPTextTransformer
from .world import CLASSES, UNSEEN, render_scene

CAPTION_TEMPLATES = ('a photo of a {}', 'a {}', 'a picture of a {}',
                     'there is a {} in the scene', 'a {} on a grey wall')
TINY_CLIP_SIZES = dict(
    image_resolution=32,
    patch_size=8,
    vision_width=64,
    vision_layers=12,
    vision_heads=4,
    embed_dims=32,
    text_width=32,
    text_layers=2,
    text_heads=4)
# The caption of a scene without shapes (pre-training with background).
BACKGROUND_NAME = 'background'
BACKGROUND = len(CLASSES)  # its class id in pre-training
SHIPPED_WEIGHTS = osp.join(
    osp.dirname(osp.abspath(__file__)), 'tiny_clip_shapes.safetensors')


class TinyCLIP(nn.Module):
    """A trainable CLIP of this project's own towers: ``visual``
    (:class:`~cascade_clip.models.backbones.CLIPVisionTower`), ``text``
    (:class:`~cascade_clip.models.text_encoders.CLIPTextTransformer`) and
    ``logit_scale``; sizes as in :data:`TINY_CLIP_SIZES`."""

    def __init__(self,
                 image_resolution: int = 64,
                 patch_size: int = 16,
                 vision_width: int = 64,
                 vision_layers: int = 12,
                 vision_heads: int = 4,
                 embed_dims: int = 32,
                 text_width: int = 32,
                 text_layers: int = 2,
                 text_heads: int = 4):
        super().__init__()
        self.visual = CLIPVisionTower(
            input_resolution=image_resolution,
            patch_size=patch_size,
            width=vision_width,
            layers=vision_layers,
            heads=vision_heads,
            embed_dims=embed_dims)
        self.text = CLIPTextTransformer(
            width=text_width,
            heads=text_heads,
            layers=text_layers,
            embed_dims=embed_dims,
            freeze=False)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    @classmethod
    def from_openai_state_dict(cls, weights: Dict[str, Tensor],
                               **sizes) -> 'TinyCLIP':
        """A model holding ``weights`` (OpenAI key names, e.g. read by
        :func:`~cascade_clip.checkpoint.read_clip_weights`), in float32."""
        model = cls(**sizes)
        own = ('visual.', 'logit_scale')
        state = {
            (k if k.startswith(own) else 'text.' + k): v.float()
            for k, v in weights.items()
        }
        model.load_state_dict(state)
        return model

    def openai_state_dict(self) -> Dict[str, Tensor]:
        """The weights under OpenAI's key names (text tower at the top
        level, image tower under ``visual.``)."""
        state = {}
        for key, value in self.state_dict().items():
            if key.startswith('text.'):
                key = key[len('text.'):]
            state[key] = value.detach().clone()
        return state


# ---------------------------------------------------------------- data
CLIP_MEAN = torch.tensor([122.7709383, 116.7460125, 104.09373615])
CLIP_STD = torch.tensor([68.5005327, 66.6321579, 70.32316305])


def normalise(images: np.ndarray) -> Tensor:
    """uint8 RGB ``(B, H, W, 3)`` to CLIP's normalised ``(B, 3, H, W)``."""
    x = torch.from_numpy(images).float()
    return ((x - CLIP_MEAN) / CLIP_STD).permute(0, 3, 1, 2).contiguous()


def single_object_images(
    count: int,
    seed: int,
    size: int = 32,
    classes: Sequence[int] = tuple(range(len(CLASSES)))
) -> Tuple[np.ndarray, np.ndarray]:
    """``count`` scenes of ``size x size`` with one shape each (at the
    scenes' scale, anywhere inside), classes in turn; class
    ``len(CLASSES)`` (:data:`BACKGROUND`) is a scene of background only.

    Returns:
        uint8 ``(count, size, size, 3)`` images and their class ids.
    """
    rng = np.random.default_rng(seed)
    ids = np.resize(np.asarray(classes), count)
    images = np.stack([
        render_scene(rng, [c] if c < len(CLASSES) else [], (size, size))[0]
        for c in ids
    ])
    return images, ids


# ---------------------------------------------------------------- losses
def _class_texts(model: TinyCLIP,
                 templates: Sequence[str],
                 rng: np.random.Generator,
                 names: Sequence[str] = CLASSES) -> Tensor:
    """One caption embedding per class, each with a random template,
    L2-normalised ``(K, C)``."""
    captions = [
        templates[int(rng.integers(len(templates)))].format(name)
        for name in names
    ]
    return F.normalize(model.text.encode(captions), dim=-1)


def symmetric_info_nce(image: Tensor, text: Tensor, labels: Tensor,
                       scale: Tensor) -> Tensor:
    """InfoNCE of images ``(B, C)`` against class captions ``(K, C)``, both
    normalised: image -> caption cross-entropy, and caption -> image over
    the batch for each class present (its images all positives)."""
    logits = scale * image @ text.t()
    to_text = F.cross_entropy(logits, labels)
    present = labels.unique()
    log_prob = logits[:, present].t().log_softmax(dim=1)  # (P, B)
    positive = labels[None] == present[:, None]
    to_image = -(log_prob * positive).sum(1) / positive.sum(1)
    return (to_text + to_image.mean()) / 2


@torch.no_grad()
def zero_shot_accuracy(model: TinyCLIP,
                       images: Tensor,
                       labels: Tensor,
                       template: str = 'a photo of a {}',
                       pooled: bool = False,
                       names: Sequence[str] = CLASSES) -> Dict[str, float]:
    """Zero-shot classification accuracy (%) of images among all classes
    (``names``), overall and for the seen and unseen classes."""
    model.eval()
    text = F.normalize(
        model.text.encode([template.format(n) for n in names]), dim=-1)
    preds = []
    for chunk in images.split(256):
        glob, patches = model.visual(chunk)
        feature = patches.mean(1) if pooled else glob
        preds.append((F.normalize(feature, dim=-1) @ text.t()).argmax(1))
    correct = (torch.cat(preds) == labels).float()
    unseen = torch.isin(labels, torch.tensor(UNSEEN))
    model.train()
    return dict(
        all=100 * correct.mean().item(),
        seen=100 * correct[~unseen].mean().item(),
        unseen=100 * correct[unseen].mean().item())


@dataclass
class PretrainResult:
    """What :func:`pretrain_tiny_clip` made: the model, its accuracies on
    held-out images (global and pooled-patch embeddings), the seconds it
    took and the file written."""
    model: TinyCLIP
    accuracy: Dict[str, float]
    pooled_accuracy: Dict[str, float]
    seconds: float
    path: Optional[str]


def pretrain_tiny_clip(out: Optional[str] = SHIPPED_WEIGHTS,
                       steps: int = 2000,
                       batch_size: int = 128,
                       lr: float = 1e-3,
                       weight_decay: float = 0.05,
                       warmup: int = 100,
                       pool_size: int = 16000,
                       num_eval: int = 1000,
                       seed: int = 0,
                       log: Callable[[str], None] = print,
                       log_interval: int = 100,
                       background: bool = False) -> PretrainResult:
    """Pre-trains :class:`TinyCLIP` on single-shape scenes of all classes
    (and, with ``background``, scenes of background only captioned
    ``'background'``, as OpenAI's CLIP knows the word).

    Args:
        out: Where to write the weights (``.safetensors``, float16, OpenAI
            key names); ``None`` writes nothing.
        steps: Optimiser steps.
        batch_size: Images per step.
        lr: Peak AdamW learning rate (linear warm-up, cosine decay).
        weight_decay: AdamW weight decay.
        warmup: Warm-up steps.
        pool_size: Training images, generated once and sampled with
            horizontal flips (every shape is mirror-symmetric).
        num_eval: Held-out images (another seed) for the accuracy.
        seed: Seeds the images, the initial weights and the sampling.
        log: Where progress lines go.
        log_interval: Steps between progress lines.
        background: Add the background as a 21st caption.
    """
    start = time.perf_counter()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = TinyCLIP(**TINY_CLIP_SIZES)
    names = CLASSES + ((BACKGROUND_NAME, ) if background else ())
    ids = tuple(range(len(names)))
    images, labels = single_object_images(pool_size, seed, classes=ids)
    eval_images, eval_labels = single_object_images(
        num_eval, seed + 10_000, classes=ids)
    eval_x, eval_y = normalise(eval_images), torch.from_numpy(eval_labels)
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    optimizer = torch.optim.AdamW([
        dict(params=decay, weight_decay=weight_decay),
        dict(params=no_decay, weight_decay=0.0)
    ],
                                  lr=lr)

    def lr_at(step):
        if step < warmup:
            return lr * (step + 1) / warmup
        progress = (step - warmup) / max(1, steps - warmup)
        return lr * 0.5 * (1 + math.cos(math.pi * progress))

    model.train()
    for step in range(steps):
        for group in optimizer.param_groups:
            group['lr'] = lr_at(step)
        pick = rng.integers(0, pool_size, batch_size)
        batch = images[pick]
        flip = rng.random(batch_size) < 0.5
        batch[flip] = batch[flip, :, ::-1]
        x = normalise(batch)
        y = torch.from_numpy(labels[pick])
        text = _class_texts(model, CAPTION_TEMPLATES, rng, names)
        glob, patches = model.visual(x)
        scale = model.logit_scale.exp().clamp(max=100)
        loss = (
            symmetric_info_nce(F.normalize(glob, dim=-1), text, y, scale) +
            symmetric_info_nce(
                F.normalize(patches.mean(1), dim=-1), text, y, scale))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if log and ((step + 1) % log_interval == 0 or step + 1 == steps):
            log(f'step {step + 1}/{steps}  loss {loss.item():.3f}  '
                f'temperature {1 / scale.item():.4f}  '
                f'{time.perf_counter() - start:.0f} s')
    accuracy = zero_shot_accuracy(model, eval_x, eval_y, names=names)
    pooled = zero_shot_accuracy(
        model, eval_x, eval_y, pooled=True, names=names)
    path = None
    if out:
        path = save_tiny_clip(model, out)
    return PretrainResult(model, accuracy, pooled,
                          time.perf_counter() - start, path)


def save_tiny_clip(model: TinyCLIP, path: str) -> str:
    """Writes the weights as float16 ``.safetensors`` with OpenAI's key
    names."""
    from safetensors.torch import save_file
    if osp.dirname(path):
        os.makedirs(osp.dirname(path), exist_ok=True)
    state = {
        k: v.half().contiguous()
        for k, v in model.openai_state_dict().items()
    }
    save_file(state, path)
    return path
