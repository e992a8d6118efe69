"""ONNX export of a trained model, for :mod:`cascade_clip_runtime`, which
segments images with onnxruntime and numpy alone
(:mod:`cascade_clip_runtime.onnx_backend`); ``tools/export_onnx.py`` is a
thin layer over :func:`export_onnx`.

The class embeddings are an input of the image model, not weights, so the
vocabulary stays open after export. A model folder holds:

- ``image_model.onnx``: a normalised window ``(B, 3, H, W)`` (the config's
  crop, any batch), the class embeddings ``(K, C)`` (any K) and a
  per-class score shift ``(K,)`` in, the calibrated scores ``(B, K, H, W)``
  out: what the segmentor's sliding window adds up for each window
  (``ZeroShotEncoderDecoder._encode_decode``, the seen-class shift given
  per class instead of from the model's seen classes);
- ``text_encoder.onnx``: token ids ``(N, context_length)`` in,
  L2-normalised embeddings ``(N, C)`` out;
- ``bpe_simple_vocab_16e6.txt.gz``: the tokenizer's vocabulary (mmseg's);
- ``DejaVuSans.ttf``: the legend font of ``tools/infer.py``'s overlays;
- ``class_embeddings.npy`` (with ``classes``): the embeddings of a fixed
  class list, for a deployment that never embeds other names;
- ``manifest.json``: what a runtime needs beside them.

The names of the files and keys are :mod:`cascade_clip_runtime.manifest`'s.
"""
import os
import os.path as osp
import shutil
import time
import uuid
import warnings
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmseg.utils import tokenize
from mmseg.utils.tokenizer import default_bpe
from torch import Tensor, nn

from cascade_clip_runtime.classes import check_class_names
from cascade_clip_runtime.manifest import (CLASS_EMBEDDINGS, EXPORT_ID_KEY,
                                           FONT, FORMAT, FORMAT_VERSION,
                                           IMAGE_MODEL, MANIFEST, ROLE_KEY,
                                           TEXT_ENCODER, VOCABULARY,
                                           manifest_text)
from ..apis.model import init_model
from ..models.layers import resize_bilinear
from ..models.text_embeddings import (TEMPLATES, encode_class_names,
                                      resolve_templates)
from ..structures import DATASET_CLASSES, resolve_class_names
# the table class_palette looks a class list up in
from ..structures.palettes import dataset_palettes
from ..version import __version__
from ..visualization import pick_font

# Test pipeline steps that load or pack data and change no pixel.
_PASSIVE_STEPS = ('LoadImageFromFile', 'CheckedLoadImageFromFile',
                  'LoadImageFromNDArray', 'LoadAnnotations',
                  'CheckedLoadAnnotations', 'PackSegInputs')


class ImageModel(nn.Module):
    """The exported image side of a segmentor: encoder, head, calibration
    and the resize to the window's size.

    ``forward(window (B, 3, H, W), class_embeddings (K, C),
    score_shift (K,)) -> scores (B, K, H, W)``: ``sigmoid(masks) -
    score_shift``, i.e. ``_encode_decode`` with the shift given per class
    (the model's seen-class shift on its seen channels gives the same
    scores).
    """

    def __init__(self, segmentor: nn.Module):
        super().__init__()
        self.backbone = segmentor.backbone
        self.decode_head = segmentor.decode_head

    def forward(self, window: Tensor, class_embeddings: Tensor,
                score_shift: Tensor) -> Tensor:
        pred_masks = self.decode_head(self.backbone(window), class_embeddings)
        scores = pred_masks.sigmoid() - score_shift[None, :, None, None]
        return resize_bilinear(scores, window.shape[2:])


class TextEncoder(nn.Module):
    """The exported text encoder: ``forward(tokens (N, L)) -> (N, C)``
    L2-normalised embeddings."""

    def __init__(self, text_encoder: nn.Module):
        super().__init__()
        self.text_encoder = text_encoder

    def forward(self, tokens: Tensor) -> Tensor:
        return F.normalize(self.text_encoder(tokens), dim=-1)


@dataclass
class ExportResult:
    """What :func:`export_onnx` wrote.

    Attributes:
        out_dir: The model folder.
        files: Name -> size in bytes of each file written.
        seconds: Export time of each ONNX file, by file name.
        manifest: The manifest's content.
    """
    out_dir: str
    files: Dict[str, int] = field(default_factory=dict)
    seconds: Dict[str, float] = field(default_factory=dict)
    manifest: Dict[str, Any] = field(default_factory=dict)


def resize_rule(step: dict) -> Optional[Dict[str, Any]]:
    """The manifest's form of a test pipeline's resize step."""
    kind = step['type']
    if kind == 'ResizeShortestEdge':
        scale = step['scale']
        short = min(scale) if isinstance(scale, (list, tuple)) else scale
        return dict(
            type='shortest_edge',
            scale=int(short),
            max_size=int(step['max_size']))
    if step.get('interpolation', 'bilinear') != 'bilinear':
        raise ValueError(
            f'test_pipeline step {kind} resizes with interpolation='
            f'{step["interpolation"]!r}; the runtime resizes bilinearly '
            '(as OpenCV does): use interpolation=\'bilinear\'')
    if step.get('scale_factor') is not None or step.get('scale') is None:
        raise ValueError(
            f'test_pipeline step {kind} resizes by scale_factor; the runtime '
            'takes a Resize with `scale` (and keep_ratio) or a '
            'ResizeShortestEdge')
    scale = step['scale']
    scale = [int(scale), int(scale)] if isinstance(
        scale, (int, float)) else [int(s) for s in scale]
    keep_ratio = bool(step.get('keep_ratio', False))
    return dict(type='rescale' if keep_ratio else 'resize', scale=scale)


def image_pipeline(cfg: Config) -> Dict[str, Any]:
    """What the runtime does to an image before the image model, from the
    config: the test pipeline's resize, the data preprocessor's channel
    order and normalisation, and ``test_cfg``'s sliding window.

    Raises:
        ValueError: a step the runtime does not do (named), or a model that
            does not run on sliding windows.
    """
    resize = None
    for step in cfg.test_pipeline:
        kind = step['type']
        if kind in _PASSIVE_STEPS:
            continue
        if kind not in ('Resize', 'ResizeShortestEdge'):
            raise ValueError(
                f'test_pipeline step {kind} has no counterpart in the ONNX '
                'runtime (it loads an image, resizes it once with Resize or '
                'ResizeShortestEdge and normalises it); remove the step '
                'from the config or run the model with PyTorch')
        if resize is not None:
            raise ValueError('test_pipeline resizes twice; the ONNX runtime '
                             'resizes once: keep one Resize step')
        resize = resize_rule(step)
    preprocessor = cfg.model.data_preprocessor
    if preprocessor.get('test_cfg'):
        raise ValueError(
            'model.data_preprocessor.test_cfg pads test images; the ONNX '
            'runtime does not: remove it from the config')
    to_rgb = preprocessor.get('bgr_to_rgb', False) or preprocessor.get(
        'rgb_to_bgr', False)
    test_cfg = cfg.model.test_cfg
    if test_cfg.get('mode', 'whole') != 'slide':
        raise ValueError(
            f'model.test_cfg.mode is {test_cfg.get("mode", "whole")!r}: the '
            'model runs on each whole image at its own size, the ONNX image '
            'model on windows of one size; export with --cfg-options '
            'model.test_cfg.mode=slide model.test_cfg.crop_size=[H,W] '
            'model.test_cfg.stride=[H,W]')
    window = [int(s) for s in test_cfg['crop_size']]
    stride = [int(s) for s in test_cfg['stride']]
    return dict(
        resize=resize,
        # images are read as BGR in the PyTorch path: converting them to
        # RGB means the model sees RGB
        channel_order='rgb' if to_rgb else 'bgr',
        mean=[float(v) for v in preprocessor['mean']],
        std=[float(v) for v in preprocessor['std']],
        window=window,
        stride=stride)


def mark_onnx(path: str, role: str, export_id: str) -> None:
    """Writes into an ONNX file's metadata which part of which export it is
    (the runtime checks both): ``role`` ``'image_model'`` or
    ``'text_encoder'``, ``export_id`` the manifest's."""
    import onnx
    model = onnx.load(path)
    for key, value in ((ROLE_KEY, role), (EXPORT_ID_KEY, export_id)):
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, path)


def _export(module: nn.Module, args: Tuple[Tensor,
                                           ...], input_names: List[str],
            output_name: str, dynamic_shapes: Dict[str, Dict[int, Any]],
            path: str, opset: Optional[int]) -> None:
    """``torch.onnx.export`` (the dynamo exporter) into one file."""
    with torch.no_grad(), warnings.catch_warnings():
        # the class count is one dimension of two inputs; the exporter
        # says it named it once
        warnings.filterwarnings('ignore', message='# The axis name')
        program = torch.onnx.export(
            module,
            args,
            dynamo=True,
            input_names=input_names,
            output_names=[output_name],
            dynamic_shapes=dynamic_shapes,
            opset_version=opset,
            external_data=False,
            verbose=False)
    program.save(path, external_data=False)


def _check_onnx_packages() -> None:
    missing = []
    for name in ('onnx', 'onnxscript'):
        try:
            __import__(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise ImportError(
            f'the ONNX export needs {" and ".join(missing)}: pip install '
            '-e ".[deploy]" (or pip install onnx onnxscript onnxruntime)')


def _class_split(model: nn.Module) -> Dict[str, Any]:
    return dict(
        names=model.class_names,
        seen=model.seen_classes,
        unseen=model.unseen_classes,
        seen_score_shift=float(model.decode_head.seen_score_shift))


def _palettes() -> List[Dict[str, Any]]:
    return [
        dict(classes=list(names), colours=colours.tolist())
        for names, colours in dataset_palettes().items()
    ]


def export_onnx(config: Union[str, Config, None],
                checkpoint: Optional[str],
                out_dir: str,
                classes: Union[str, Sequence[str], None] = None,
                templates: Union[str, Sequence[str]] = 'multi',
                text_encoder: bool = True,
                opset: Optional[int] = None,
                cfg_options: Optional[dict] = None,
                overwrite: bool = False,
                model: Optional[nn.Module] = None) -> ExportResult:
    """Writes a model folder for :mod:`cascade_clip_runtime` (see the
    module's docstring).

    Args:
        config: Config file; ``None``: the one stored in ``checkpoint``.
        checkpoint: This project's checkpoint or the paper's (then give
            ``config``); ``None`` keeps random weights (for measuring).
        out_dir: The model folder (made if missing).
        classes: A fixed class list whose embeddings are stored (names, a
            setting or a text file), embedded with ``templates``.
        templates: Prompt templates of ``classes``.
        text_encoder: Also export the text encoder; without it the folder
            segments into ``classes`` only.
        opset: ONNX opset (default: the exporter's).
        cfg_options: Config overrides.
        overwrite: Replace the files of an earlier export in ``out_dir``.
        model: A model from :func:`~cascade_clip.apis.init_model` (it
            keeps its config as ``model.cfg``) to export instead of
            building one from ``config`` and ``checkpoint``.

    Returns:
        The files written, their sizes and export times.

    Raises:
        FileExistsError: ``out_dir`` holds an export and not ``overwrite``.
        ValueError: a config the runtime cannot follow, bad class names,
            ``text_encoder=False`` without ``classes``.
        ImportError: onnx or onnxscript is missing.
    """
    _check_onnx_packages()
    if not text_encoder and classes is None:
        raise ValueError('without the text encoder the folder can segment '
                         'only into a fixed class list: give --classes')
    names = None
    if classes is not None:
        names = resolve_class_names(classes)
        check_class_names(names)
    templates = resolve_templates(templates)
    manifest_path = osp.join(out_dir, MANIFEST)
    if osp.exists(manifest_path) and not overwrite:
        raise FileExistsError(
            f'{manifest_path} exists: {out_dir} holds an export already; '
            'pass --overwrite to replace it, or choose another --out')
    if model is None:
        model = init_model(config, checkpoint, 'cpu', cfg_options)
    cfg = model.cfg
    pipeline = image_pipeline(cfg)
    os.makedirs(out_dir, exist_ok=True)
    for name in (IMAGE_MODEL, TEXT_ENCODER, CLASS_EMBEDDINGS):
        if osp.exists(osp.join(out_dir, name)):
            os.remove(osp.join(out_dir, name))
    result = ExportResult(out_dir)
    export_id = uuid.uuid4().hex
    dims = int(model.decode_head.embed_dims)
    height, width = pipeline['window']

    image_model = ImageModel(model).eval()
    generator = torch.Generator().manual_seed(0)
    example = (torch.zeros(2, 3, height, width),
               F.normalize(torch.randn(3, dims, generator=generator),
                           dim=-1), torch.zeros(3))
    batch = torch.export.Dim('batch')
    num_classes = torch.export.Dim('classes')
    start = time.perf_counter()
    _export(
        image_model, example, ['window', 'class_embeddings', 'score_shift'],
        'scores',
        dict(
            window={0: batch},
            class_embeddings={0: num_classes},
            score_shift={0: num_classes}), osp.join(out_dir,
                                                    IMAGE_MODEL), opset)
    mark_onnx(osp.join(out_dir, IMAGE_MODEL), 'image_model', export_id)
    result.seconds[IMAGE_MODEL] = time.perf_counter() - start

    context_length = int(model.text_encoder.context_length)
    if text_encoder:
        tokens = tokenize(['a photo of a cat', 'grass'], context_length)
        start = time.perf_counter()
        _export(
            TextEncoder(model.text_encoder).eval(), (tokens, ), ['tokens'],
            'embeddings', dict(tokens={0: torch.export.Dim('prompts')}),
            osp.join(out_dir, TEXT_ENCODER), opset)
        mark_onnx(osp.join(out_dir, TEXT_ENCODER), 'text_encoder', export_id)
        result.seconds[TEXT_ENCODER] = time.perf_counter() - start

    fixed = None
    if names is not None:
        embeddings = encode_class_names(model.text_encoder, names, templates)
        np.save(
            osp.join(out_dir, CLASS_EMBEDDINGS),
            embeddings.float().numpy())
        fixed = dict(
            names=names, templates=templates, embeddings=CLASS_EMBEDDINGS)

    shutil.copyfile(default_bpe(), osp.join(out_dir, VOCABULARY))
    font = pick_font().path
    if font is not None:
        shutil.copyfile(font, osp.join(out_dir, FONT))

    manifest = dict(
        format=FORMAT,
        format_version=FORMAT_VERSION,
        export_id=export_id,
        exported_with=dict(cascade_clip=__version__, torch=torch.__version__),
        files=dict(
            image_model=IMAGE_MODEL,
            text_encoder=TEXT_ENCODER if text_encoder else None,
            vocabulary=VOCABULARY,
            font=FONT if font is not None else None),
        image=pipeline,
        embed_dims=dims,
        text=dict(
            context_length=context_length,
            templates={
                k: list(v)
                for k, v in TEMPLATES.items()
            },
            default_templates='multi'),
        model_classes=_class_split(model),
        fixed_classes=fixed,
        class_lists={
            k: list(v)
            for k, v in DATASET_CLASSES.items()
        },
        palettes=_palettes())
    with open(manifest_path, 'w', encoding='utf-8') as f:
        f.write(manifest_text(manifest))
    result.manifest = manifest
    for name in sorted(os.listdir(out_dir)):
        result.files[name] = osp.getsize(osp.join(out_dir, name))
    return result
