"""Open-vocabulary inference: segment any image into any class names with a
trained checkpoint; ``tools/infer.py`` is a thin layer over this module."""
import copy
import os.path as osp
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmcv.transforms import Compose
from mmengine.dataset import pseudo_collate

from ..models.text_embeddings import check_open_vocabulary, resolve_templates
from ..structures import class_palette, resolve_class_names
from ..utils.image_files import (OUTPUT_SUFFIXES, InferencePlan,
                                 plan_inference, read_image)
from ..visualization import legend_by_area, save_label_pictures
from .model import init_model


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
        self.model = init_model(config, checkpoint, device)
        # Only the labels are kept, computed in blocks of classes: memory
        # for a big photo does not grow with the number of classes.
        self.model.test_cfg['keep_seg_logits'] = False
        self.cfg = self.model.cfg
        self.templates = resolve_templates(templates)
        steps = [
            step for step in copy.deepcopy(self.cfg.test_pipeline)
            if 'LoadAnnotations' not in step['type']
        ]
        steps[0] = dict(type='LoadImageFromNDArray')
        self.pipeline = Compose(steps)

    @torch.no_grad()
    def __call__(
            self,
            image: Union[str, np.ndarray],
            class_names: Sequence[str],
            templates: Union[str, Sequence[str], None] = None) -> Segmentation:
        """Segments an image (a path or an ``(H, W, 3)`` BGR array) into
        ``class_names``, with ``templates`` instead of the segmenter's
        if given."""
        names = resolve_class_names(class_names)
        check_open_vocabulary(names)
        if isinstance(image, str):
            image = read_image(image)
        self.model.set_classes(
            names, self.templates
            if templates is None else resolve_templates(templates))
        data = self.pipeline(dict(img=image))
        [result] = self.model.test_step(pseudo_collate([data]))
        labels = result.pred_sem_seg.data[0].cpu().numpy()
        counts = np.bincount(labels.ravel(), minlength=len(names))
        shares = {
            name: float(count) / labels.size
            for name, count in zip(names, counts)
        }
        return Segmentation(labels, names, shares)


def save_segmentation(image: np.ndarray, segmentation: Segmentation,
                      out_dir: str, stem: str) -> Tuple[str, str]:
    """Writes the ``(H, W, 3)`` BGR image's ``<stem>_mask.png`` and
    ``<stem>_overlay.png`` in the classes' colours (the one palette, see
    :func:`~cascade_clip.structures.class_palette`), the overlay's
    legend naming the classes present by area (see
    :func:`~cascade_clip.visualization.save_label_pictures`)."""
    colours = class_palette(segmentation.class_names)
    legend = legend_by_area(segmentation.shares, colours)
    return save_label_pictures(image[..., ::-1], segmentation.labels, legend,
                               colours, out_dir, stem)


def iter_segment_images(
        path: str,
        checkpoint: str,
        class_names: Union[str, Sequence[str]],
        out_dir: str,
        templates: Union[str, Sequence[str]] = 'multi',
        config: Optional[str] = None,
        device: Optional[str] = None,
        overwrite: bool = True,
        plan: Optional[InferencePlan] = None) -> Iterator[dict]:
    """:func:`segment_images`, one result at a time (as each image is
    done)."""
    names = resolve_class_names(class_names)
    check_open_vocabulary(names)
    plan = plan or plan_inference(path, out_dir)
    if plan.existing and not overwrite:
        count = len(plan.existing)
        more = f' and {count - 3} more' if count > 3 else ''
        raise FileExistsError(
            f'{", ".join(plan.existing[:3])}{more} '
            f'{"exists" if count == 1 else "exist"} already: pass '
            '--overwrite to replace, or choose another --out')
    single = not osp.isdir(path)
    segmenter = OpenVocabularySegmenter(checkpoint, config, templates, device)
    for image_path, (mask, overlay) in zip(plan.images, plan.outputs):
        try:
            image = read_image(image_path)
        except (OSError, ValueError) as err:
            if single:
                raise
            yield dict(image=image_path, error=str(err))
            continue
        segmentation = segmenter(image, names)
        stem = osp.basename(mask)[:-len(OUTPUT_SUFFIXES[0])]
        save_segmentation(image, segmentation, out_dir, stem)
        yield dict(
            image=image_path,
            mask=mask,
            overlay=overlay,
            shares=segmentation.shares)


def segment_images(path: str,
                   checkpoint: str,
                   class_names: Union[str, Sequence[str]],
                   out_dir: str,
                   templates: Union[str, Sequence[str]] = 'multi',
                   config: Optional[str] = None,
                   device: Optional[str] = None,
                   overwrite: bool = True) -> List[dict]:
    """Segments an image or every image of a folder and saves the pictures.

    Each image gets ``<name>_mask.png`` and ``<name>_overlay.png`` in
    ``out_dir``; where two images share a name (``a.jpg``, ``a.png``) the
    extension stays in it (``a.jpg_mask.png``). When ``out_dir`` is the
    folder itself, the pictures written there for its images are not taken
    as images.

    Args:
        path: An image or a folder of images.
        checkpoint: Trained weights (see :class:`OpenVocabularySegmenter`).
        class_names: The classes (a list, a setting, a text file).
        out_dir: Where the pictures go.
        templates: Prompt templates.
        config: Config file, for a checkpoint that stores none.
        device: Default: CUDA if available.
        overwrite: Replace pictures that exist; ``False``: refuse before
            anything is read or written (``tools/infer.py`` without
            ``--overwrite``).

    Returns:
        Per image: ``image``, ``mask``, ``overlay`` (paths) and ``shares``;
        for an image of a folder that cannot be read, ``image`` and
        ``error`` (a single image given as ``path`` raises instead).

    Raises:
        FileExistsError: an output exists and ``overwrite`` is false.
        FileNotFoundError, ValueError: no image, an unreadable image given
            as ``path``, bad class names.
    """
    return list(
        iter_segment_images(path, checkpoint, class_names, out_dir, templates,
                            config, device, overwrite))
