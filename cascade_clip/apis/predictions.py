"""Pictures of a model's predictions on a dataset split (image, ground
truth, prediction, legend); ``tools/visualize.py predictions`` is a thin
layer over :func:`visualize_predictions`."""
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import List, Optional, Tuple, Union

import mmcv
import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from PIL import Image

from ..datasets.build import build_split_dataset
from ..structures import class_palette
from ..visualization import CAPTIONS, compose_picture, resize_labels
from .model import init_model, load_config


@dataclass
class PredictionPicture:
    """What :func:`visualize_predictions` wrote for one image.

    Attributes:
        path: The PNG written.
        img_path: The image it shows.
        image_size: ``(H, W)`` of the image, hence of each panel.
        legend: The legend's entries in class order, e.g. ``'sheep
            (unseen)'``: the classes in the ground truth or the prediction.
        gt_classes: Class ids in the ground truth (ignored pixels left out).
        pred_classes: Class ids in the prediction.
    """
    path: str
    img_path: str
    image_size: Tuple[int, int]
    legend: List[str] = field(default_factory=list)
    gt_classes: List[int] = field(default_factory=list)
    pred_classes: List[int] = field(default_factory=list)


def _class_ids(label: np.ndarray, ignore_index: int) -> List[int]:
    return [int(i) for i in np.unique(label) if i != ignore_index]


def visualize_predictions(
        config: Union[str, Config],
        checkpoint: str,
        split: str = 'val',
        num: int = 8,
        out_dir: Optional[str] = None,
        cfg_options: Optional[dict] = None,
        device: Optional[str] = None,
        font_size: Optional[int] = None,
        min_side: Optional[int] = None,
        only_labelled: bool = False) -> List[PredictionPicture]:
    """Writes a picture of the model's prediction for each of the first
    ``num`` images of a split (see
    :func:`~cascade_clip.visualization.compose_picture`).

    Args:
        config: Config file (or ``Config``).
        checkpoint: Weights to run.
        split: ``'val'`` or ``'train'``; either is loaded with the val
            dataloader's pipeline.
        num: How many images (all if the split has fewer).
        out_dir: Where the PNGs go (default
            ``work_dirs/<config name>/vis_<split>``); each is named
            ``<position in the split>_<image name>.png``.
        cfg_options: Config overrides, as ``--cfg-options`` gives them.
        device: ``'cuda'``, ``'cpu'``...; default CUDA if available.
        font_size: Pixel size of the captions and the legend (default:
            from each image's size, at least 14).
        min_side: Draw images whose shorter side is below this enlarged by
            a whole factor (nearest neighbour), so that small images stay
            readable; default: at their size.
        only_labelled: Draw the prediction only where the ground truth
            has a class (black elsewhere), for datasets whose unlabelled
            pixels are no class (VOC-20's background).

    Returns:
        One record per picture, in the split's order; ``.path`` is the file
        written.
    """
    if num < 1:
        raise ValueError(f'num must be at least 1, got {num}')
    cfg = load_config(config, cfg_options)
    if out_dir is None:
        name = (
            osp.splitext(osp.basename(config))[0]
            if isinstance(config, str) else 'config')
        out_dir = osp.join(
            cfg.get('work_dir') or osp.join('work_dirs', name), f'vis_{split}')
    dataset = build_split_dataset(cfg, split)
    class_names = list(dataset.metainfo['classes'])
    # the colours of tools/infer.py for the same classes
    palette = class_palette(class_names)
    model = init_model(cfg, checkpoint, device)
    model.test_cfg['keep_seg_logits'] = False  # only the labels are drawn
    if model.num_classes != len(class_names):
        raise ValueError(f'the model has {model.num_classes} classes but the '
                         f'{split} dataset {len(class_names)}')
    os.makedirs(out_dir, exist_ok=True)

    pictures = []
    for index in range(min(num, len(dataset))):
        with torch.no_grad():
            sample = model.test_step(pseudo_collate([dataset[index]]))[0]
        img_path = sample.img_path
        image = mmcv.imread(img_path, channel_order='rgb')
        shape = image.shape[:2]
        pred = resize_labels(sample.pred_sem_seg.data[0].cpu().numpy(), shape)
        if 'gt_sem_seg' in sample:
            gt = resize_labels(sample.gt_sem_seg.data[0].cpu().numpy(), shape)
        else:
            gt = np.full(shape, model.ignore_index, np.uint8)
        if only_labelled:
            pred = np.where(gt == model.ignore_index, model.ignore_index, pred)
        if min_side and min(shape) < min_side:
            factor = -(-min_side // min(shape))
            image, gt, pred = (
                np.repeat(np.repeat(a, factor, 0), factor, 1)
                for a in (image, gt, pred))
        canvas, entries = compose_picture(
            image, gt, pred, class_names, palette, model.unseen_classes,
            model.ignore_index, font_size,
            'prediction (labelled pixels)' if only_labelled else CAPTIONS[2])
        stem = osp.splitext(osp.basename(img_path))[0]
        path = osp.join(out_dir, f'{index:04d}_{stem}.png')
        Image.fromarray(canvas).save(path)
        pictures.append(
            PredictionPicture(path, img_path, shape, entries,
                              _class_ids(gt, model.ignore_index),
                              _class_ids(pred, model.ignore_index)))
    return pictures
