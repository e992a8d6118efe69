"""Open-vocabulary inference: segment any image into any class names with a
trained checkpoint; ``tools/infer.py`` is a thin layer over this module."""
import colorsys
import copy
import os
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple, Union

import mmcv
import numpy as np
import torch
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from PIL import Image, ImageDraw
from torch import Tensor

from ..models.text_embeddings import check_open_vocabulary, resolve_templates
from ..structures import resolve_class_names
from .visualization import colorize, fit_text, load_font, load_model

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')


def class_colours(num_classes: int) -> np.ndarray:
    """``(K, 3)`` uint8 colours, well apart in hue (golden-ratio steps)."""
    colours = [
        colorsys.hsv_to_rgb((0.61803398875 * i) % 1.0, 0.65, 0.95)
        for i in range(num_classes)
    ]
    return (np.array(colours) * 255).round().astype(np.uint8)


def config_from_checkpoint(checkpoint: str) -> Config:
    """The training config stored in a checkpoint written by the runner.

    Raises:
        ValueError: the checkpoint stores none (e.g. one of the paper's);
            then the config file must be given.
    """
    meta = torch.load(
        checkpoint, map_location='cpu', weights_only=True,
        mmap=True).get('meta') or {}
    text = meta.get('cfg')
    if not isinstance(text, str):
        raise ValueError(f'{checkpoint} stores no config (only checkpoints '
                         'written by this project\'s training do); give the '
                         'config file too (--config)')
    return Config.fromstring(text, file_format='.py')


@dataclass
class Segmentation:
    """One image's open-vocabulary segmentation.

    Attributes:
        labels: ``(H, W)`` class index per pixel, at the image's size.
        class_names: The classes the indices refer to.
        shares: Fraction of the pixels given to each class, in class order.
    """
    labels: np.ndarray
    class_names: List[str]
    shares: Dict[str, float]


class OpenVocabularySegmenter:
    """A trained Cascade-CLIP that segments images into any class names.

    The model embeds a class list once with its CLIP text encoder and keeps
    the embeddings while the next images use the same list.

    Args:
        checkpoint: A checkpoint of this project (its config is read from
            it) or of the paper's code (then give ``config``).
        config: Config file; by default the one stored in the checkpoint.
        templates: Prompt templates: ``'multi'`` (the 15), ``'single'`` or
            a list.
        device: Default: CUDA if available.
    """

    def __init__(self,
                 checkpoint: str,
                 config: Optional[str] = None,
                 templates: Union[str, Sequence[str]] = 'multi',
                 device: Optional[str] = None):
        if not osp.isfile(checkpoint):
            raise FileNotFoundError(f'checkpoint not found: {checkpoint}')
        if config is None:
            self.cfg = config_from_checkpoint(checkpoint)
        elif not osp.isfile(config):
            raise FileNotFoundError(f'config file not found: {config}')
        else:
            self.cfg = Config.fromfile(config)
        self.model = load_model(self.cfg, checkpoint, device)
        self.templates = resolve_templates(templates)
        steps = [
            step for step in copy.deepcopy(self.cfg.test_pipeline)
            if 'LoadAnnotations' not in step['type']
        ]
        steps[0] = dict(type='LoadImageFromNDArray')
        self.pipeline = Compose(steps)

    @torch.no_grad()
    def __call__(self, image: Union[str, np.ndarray],
                 class_names: Sequence[str]) -> Segmentation:
        """Segments an image (a path or an ``(H, W, 3)`` BGR array) into
        ``class_names``."""
        names = resolve_class_names(class_names)
        check_open_vocabulary(names)
        if isinstance(image, str):
            image = read_image(image)
        self.model.set_classes(names, self.templates)
        data = self.pipeline(dict(img=image))
        [result] = self.model.test_step(pseudo_collate([data]))
        labels = result.pred_sem_seg.data[0].cpu().numpy()
        counts = np.bincount(labels.ravel(), minlength=len(names))
        shares = {
            name: float(count) / labels.size
            for name, count in zip(names, counts)
        }
        return Segmentation(labels, names, shares)


def read_image(path: str) -> np.ndarray:
    """An image as a BGR array; the error names an unreadable file."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'image not found: {path}')
    try:
        image = mmcv.imread(path, channel_order='bgr')
    except Exception as err:
        raise ValueError(f'cannot read image {path}: {err}') from err
    if image is None:
        raise ValueError(f'cannot read image {path}: not an image file')
    return image


def list_images(path: str) -> List[str]:
    """The image itself, or the images in a folder (sorted)."""
    if osp.isdir(path):
        images = sorted(
            osp.join(path, name) for name in os.listdir(path)
            if name.lower().endswith(IMAGE_SUFFIXES))
        if not images:
            raise FileNotFoundError(f'no images ({", ".join(IMAGE_SUFFIXES)})'
                                    f' in {path}')
        return images
    if not osp.isfile(path):
        raise FileNotFoundError(f'image or folder not found: {path}')
    return [path]


def legend_lines(segmentation: Segmentation) -> List[str]:
    """``'name: 12.3%'`` for every class, in class order."""
    return [
        f'{name}: {100 * share:.1f}%'
        for name, share in segmentation.shares.items()
    ]


def save_segmentation(image: np.ndarray,
                      segmentation: Segmentation,
                      out_dir: str,
                      stem: str,
                      alpha: float = 0.5,
                      font_size: int = 14) -> Tuple[str, str]:
    """Writes ``<stem>_mask.png`` (class colours) and ``<stem>_overlay.png``
    (the image with the colours blended in and a legend in the top-left
    corner naming every class with its share), both at the image's size.

    Args:
        image: The ``(H, W, 3)`` BGR image.
        segmentation: Its segmentation.
        out_dir: Output folder.
        stem: File name stem.
        alpha: Weight of the colours in the overlay.
        font_size: Legend text size in pixels.

    Returns:
        The mask and overlay paths.
    """
    os.makedirs(out_dir, exist_ok=True)
    colours = class_colours(len(segmentation.class_names))
    mask = colorize(segmentation.labels, colours)
    rgb = image[..., ::-1].astype(np.float32)
    overlay = Image.fromarray(
        (alpha * mask + (1 - alpha) * rgb).round().astype(np.uint8))
    draw = ImageDraw.Draw(overlay, 'RGBA')
    font = load_font(font_size)
    lines = legend_lines(segmentation)
    row = font_size + 4
    box_width = min(
        overlay.width,
        int(max(draw.textlength(t, font=font) for t in lines)) + row + 12)
    draw.rectangle((0, 0, box_width, row * len(lines) + 6),
                   fill=(255, 255, 255, 200))
    for i, (text, colour) in enumerate(zip(lines, colours)):
        y = 4 + i * row
        draw.rectangle((4, y + 2, 4 + font_size - 2, y + font_size),
                       fill=tuple(int(c) for c in colour),
                       outline=(64, 64, 64))
        draw.text((font_size + 8, y),
                  fit_text(draw, text, font, box_width - font_size - 12),
                  fill=(0, 0, 0),
                  font=font)
    mask_path = osp.join(out_dir, f'{stem}_mask.png')
    overlay_path = osp.join(out_dir, f'{stem}_overlay.png')
    Image.fromarray(mask).save(mask_path)
    overlay.save(overlay_path)
    return mask_path, overlay_path


def segment_images(path: str,
                   checkpoint: str,
                   class_names: Union[str, Sequence[str]],
                   out_dir: str,
                   templates: Union[str, Sequence[str]] = 'multi',
                   config: Optional[str] = None,
                   device: Optional[str] = None) -> List[dict]:
    """Segments an image or every image of a folder and saves the pictures.

    Returns:
        Per image: ``image``, ``mask``, ``overlay`` (paths) and ``shares``.
    """
    names = resolve_class_names(class_names)
    check_open_vocabulary(names)
    segmenter = OpenVocabularySegmenter(checkpoint, config, templates, device)
    results = []
    for image_path in list_images(path):
        image = read_image(image_path)
        segmentation = segmenter(image, names)
        stem = osp.splitext(osp.basename(image_path))[0]
        mask, overlay = save_segmentation(image, segmentation, out_dir, stem)
        results.append(
            dict(
                image=image_path,
                mask=mask,
                overlay=overlay,
                shares=segmentation.shares))
    return results
