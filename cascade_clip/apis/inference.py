"""Open-vocabulary inference with a trained checkpoint: segment any image
into any class names. The steps outside the network are the one inference
path of :mod:`cascade_clip_runtime` (:class:`~cascade_clip_runtime.segmenter.
Segmenter`); :class:`TorchBackend` runs the PyTorch model in it.
``tools/infer.py`` is a thin layer over this module."""
import copy
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmcv.transforms import Compose
from mmengine.dataset import pseudo_collate
from torch import Tensor, nn

from cascade_clip_runtime.classes import check_class_names
from cascade_clip_runtime.files import check_outputs_free, plan_inference
from cascade_clip_runtime.segmenter import (Backend, Padding, Segmentation,
                                            Segmenter, Templates)
from ..models.segmentors import TorchOps
from ..models.text_embeddings import resolve_templates
from ..structures import DATASET_CLASSES, resolve_class_names
from ..structures.palettes import dataset_palettes
from ..visualization import pick_font
from .model import init_model

# class names or prompt templates: a list, or a name of one
Names = Union[str, Sequence[str]]

__all__ = [
    'OpenVocabularySegmenter', 'Segmentation', 'TorchBackend', 'segment_images'
]


class TorchBackend(Backend):
    """A PyTorch segmentor as the backend of the one inference path: the
    config's test pipeline and data preprocessor make its input, its
    ``encode_decode`` scores the windows of its ``test_cfg``.

    Args:
        model: A model from :func:`~.model.init_model` (its config as
            ``model.cfg``).
        templates: The prompt templates of class names given without
            templates: ``'multi'`` (the 15), ``'single'`` or a list.
    """

    def __init__(self,
                 model: nn.Module,
                 templates: Union[str, Sequence[str]] = 'multi'):
        self.model = model
        self.cfg = model.cfg
        self.templates = resolve_templates(templates)
        steps = [
            step for step in copy.deepcopy(self.cfg.test_pipeline)
            if 'LoadAnnotations' not in step['type']
        ]
        steps[0] = dict(type='LoadImageFromNDArray')
        self.pipeline = Compose(steps)
        self.ops = TorchOps(model.align_corners)
        test_cfg = model.test_cfg
        mode = test_cfg.get('mode', 'whole')
        if mode not in ('slide', 'whole'):
            raise ValueError(f'model.test_cfg.mode must be "slide" or '
                             f'"whole", not {mode!r}')
        if mode == 'slide':
            self.crop = tuple(test_cfg['crop_size'])
            self.stride = tuple(test_cfg['stride'])
            self.windows_per_batch = test_cfg.get('windows_per_batch')
        self.class_lists = DATASET_CLASSES
        # the classes of the training (set_classes changes the model's)
        self.model_classes = dict(
            names=model.class_names, seen=list(model.seen_classes))
        self.seen_score_shift = float(model.decode_head.seen_score_shift)
        self._palettes = None

    @property
    def palettes(self) -> dict:
        """The registered datasets' palettes (read once)."""
        if self._palettes is None:
            self._palettes = dataset_palettes()
        return self._palettes

    def use_classes(self, class_names: List[str], templates: Templates,
                    unseen: Sequence[str]) -> None:
        templates = (
            self.templates
            if templates is None else resolve_templates(templates))
        self.model.set_classes(
            class_names,
            templates,
            unseen_classes=[class_names.index(name) for name in unseen])

    @torch.no_grad()
    def prepare(self, image: np.ndarray,
                source: str) -> Tuple[Tensor, Padding]:
        # mmcv's pipeline takes BGR, as mmcv reads images; the data
        # preprocessor turns it into the model's channel order
        data = self.pipeline(dict(img=np.ascontiguousarray(image[..., ::-1])))
        data = self.model.data_preprocessor(pseudo_collate([data]), False)
        inputs = data['inputs']
        height, width = inputs.shape[-2:]
        side = getattr(self.model.backbone, 'patch_size', 1)
        if min(height, width) < side:
            raise ValueError(
                f'{source} is {width}x{height} pixels as the model sees it; '
                f'it needs at least {side} a side: give a larger image')
        meta = data['data_samples'][0].metainfo
        left, right, top, bottom = meta.get('img_padding_size',
                                            meta.get('padding_size', [0] * 4))
        return inputs, (top, bottom, left, right)

    @torch.no_grad()
    def window_scores(self, windows: Tensor) -> Tensor:
        return self.model.encode_decode(windows)

    def font(self, texts: Sequence[str]) -> Optional[str]:
        return pick_font(texts).path


class OpenVocabularySegmenter(Segmenter):
    """A trained Cascade-CLIP that segments images into any class names:
    ``segmenter(image, names)`` with an image file or an ``(H, W, 3)``
    uint8 RGB array (see :class:`~cascade_clip_runtime.segmenter.
    Segmenter`).

    The model embeds a class list once with its CLIP text encoder and keeps
    the embeddings while the next images use the same list.

    Args:
        checkpoint: A checkpoint of this project (its config is read from
            it) or of the paper's code (then give ``config``).
        config: Config file; by default the one stored in the checkpoint.
        templates: Prompt templates: ``'multi'`` (the 15), ``'single'`` or
            a list.
        device: Default: CUDA if available.
        amp: Run the networks in bfloat16 autocast where the device's
            hardware has it (faster; labels agree with float32's on most
            pixels: docs/speed.md).
    """

    def __init__(self,
                 checkpoint: str,
                 config: Optional[str] = None,
                 templates: Union[str, Sequence[str]] = 'multi',
                 device: Optional[str] = None,
                 amp: bool = False):
        super().__init__(
            TorchBackend(
                init_model(config, checkpoint, device, amp=amp), templates))

    @property
    def model(self) -> nn.Module:
        return self.backend.model

    @property
    def cfg(self):
        return self.backend.cfg

    @property
    def pipeline(self) -> Compose:
        """The config's test pipeline, from an array."""
        return self.backend.pipeline


def segment_images(path: str,
                   checkpoint: str,
                   class_names: Names,
                   out_dir: str,
                   templates: Names = 'multi',
                   config: Optional[str] = None,
                   device: Optional[str] = None,
                   overwrite: bool = True,
                   unseen: Optional[Sequence[str]] = None,
                   amp: bool = False) -> List[dict]:
    """Segments an image or every image of a folder with a checkpoint and
    saves the pictures: :meth:`~cascade_clip_runtime.segmenter.Segmenter.
    segment_files` (its arguments and results) of an
    :class:`OpenVocabularySegmenter`, whose model is loaded only once the
    outputs are known to be free (``overwrite``).

    Args:
        class_names: The classes (a list, a setting, a text file).
    """
    names = resolve_class_names(class_names)
    check_class_names(names)
    plan = plan_inference(path, out_dir)
    check_outputs_free(plan, overwrite)
    segmenter = OpenVocabularySegmenter(checkpoint, config, templates, device,
                                        amp)
    return list(
        segmenter.segment_files(path, names, out_dir, None, unseen, overwrite,
                                plan))
