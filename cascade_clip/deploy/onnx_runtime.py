"""Segment images into any class names with a model folder written by
``tools/export_onnx.py``, using onnxruntime, numpy, Pillow, ftfy and regex
alone: no torch, mmengine, mmseg or OpenCV.

    python -m cascade_clip.deploy.onnx_runtime IMAGE_OR_FOLDER --model DIR \
        --classes "cat,grass,sky" [--templates multi|single] [--out DIR]
        [--unseen NAMES|model] [--threads N] [--overwrite] [--skip-bad]

This file is self-contained (its CLIP tokenizer included) and can be copied
out of the package: ``python onnx_runtime.py IMAGE --model DIR ...`` or
``python -m onnx_runtime ...`` beside it. It does what ``tools/infer.py``
does with PyTorch, step for step, and writes the same pictures
(``<name>_mask.png``, ``<name>_overlay.png``) and the same lines:

1. the image, read as RGB (EXIF orientation applied, as OpenCV does);
2. the config's test resize, with OpenCV's bilinear fixed-point arithmetic
   on uint8 pixels (:func:`resize_uint8`, bit-exact with the ``cv2``
   mmcv calls);
3. ``(x - mean) / std`` in float32, in the model's channel order;
4. overlapping windows of the config's crop and stride through the image
   model (one at a time by default), their scores summed and divided by
   the number of windows over each pixel;
5. the scores resized back to the image's size (bilinear, PyTorch's
   weights) a block of classes at a time, and the argmax over classes.

The class embeddings are the text encoder's L2-normalised embeddings of
each prompt ``template.format(name)``, their mean over the templates,
normalised again; computed once per class list.
"""
import argparse
import colorsys
import gzip
import html
import json
import math
import os
import os.path as osp
import sys
from collections import Counter
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

Names = Sequence[str]  # class names
MANIFEST = 'manifest.json'
FORMAT = 'cascade_clip.onnx'
FORMAT_VERSION = 1
ROLE_KEY = 'cascade_clip.role'
EXPORT_ID_KEY = 'cascade_clip.export_id'
IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
OUTPUT_SUFFIXES = ('_mask.png', '_overlay.png')
# Floats of resized scores held at once (64 MiB), as the PyTorch path's
# postprocessing: memory for a big photo does not grow with the classes.
RESIZE_BLOCK_ELEMENTS = 2**24
# Prompts per text encoder run, as the PyTorch path encodes them.
PROMPTS_PER_RUN = 256
# Legend lines of an overlay at most; one more sums up the rest.
MAX_LEGEND_LINES = 20


# ------------------------------------------------------------- tokenizer
class TextTooLongError(ValueError):
    """A text has more tokens than the text encoder reads.

    Attributes:
        index: Its position in the texts.
        length: Its tokens, with the start and end tokens.
    """

    def __init__(self, index: int, length: int, context_length: int,
                 text: str):
        super().__init__(f'{text!r} is {length} tokens with the start and '
                         f'end tokens; the text encoder reads '
                         f'{context_length}: shorten it')
        self.index = index
        self.length = length


def _byte_characters() -> Dict[int, str]:
    """CLIP's reversible map of the 256 byte values to characters: the
    printable Latin-1 bytes stand for themselves, every other byte for a
    code point from 256 up, in byte order (the order of the table is the
    order of the vocabulary's first 256 entries)."""
    printable = [*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    table = {byte: chr(byte) for byte in printable}
    others = [byte for byte in range(256) if byte not in table]
    table.update({byte: chr(256 + i) for i, byte in enumerate(others)})
    return table


class ClipTokenizer:
    """CLIP's byte-level BPE tokenizer; the same token ids as
    ``mmseg.utils.tokenize`` (and OpenAI's CLIP).

    Text is repaired with ftfy, HTML-unescaped twice, its white space
    collapsed and lower-cased, split into words, numbers' digits and
    punctuation runs, and each piece's UTF-8 bytes merged by the
    vocabulary's ranked merges.

    Args:
        vocabulary: ``bpe_simple_vocab_16e6.txt.gz`` (the merges, one pair a
            line after a header line).
    """

    START = '<start_of_text>'
    END = '<end_of_text>'
    # The merges CLIP uses: its vocabulary of 49,408 tokens is 256 bytes,
    # 256 word-final bytes, these merges and the two special tokens.
    NUM_MERGES = 49152 - 256 - 2

    def __init__(self, vocabulary: str):
        try:
            with gzip.open(vocabulary, 'rt', encoding='utf-8') as f:
                lines = f.read().split('\n')
        except (OSError, EOFError, UnicodeDecodeError) as err:
            raise ValueError(f'{vocabulary} is not a gzipped BPE vocabulary '
                             f'({err})') from err
        merges = [tuple(line.split()) for line in lines[1:self.NUM_MERGES + 1]]
        if len(merges) != self.NUM_MERGES or any(
                len(pair) != 2 for pair in merges):
            raise ValueError(
                f'{vocabulary} is not CLIP\'s BPE vocabulary (it needs '
                f'{self.NUM_MERGES} merge lines of two symbols)')
        import ftfy
        import regex
        self._fix_text = ftfy.fix_text
        self._regex = regex
        self._bytes = _byte_characters()
        base = list(self._bytes.values())
        tokens = base + [c + '</w>' for c in base]
        tokens += [first + second for first, second in merges]
        tokens += [self.START, self.END]
        self.ids = {token: i for i, token in enumerate(tokens)}
        self._ranks = {pair: rank for rank, pair in enumerate(merges)}
        self._words: Dict[str, List[str]] = {
            token: [token]
            for token in (self.START, self.END)
        }
        self._pieces = regex.compile(
            f'{self.START}|{self.END}|'
            r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
            regex.IGNORECASE)

    def _merge(self, piece: str) -> List[str]:
        """The BPE symbols of one piece (its byte characters): the pair of
        lowest rank is merged everywhere, left to right, until no pair of
        neighbours is a merge; the last symbol ends in ``</w>``."""
        if piece in self._words:
            return self._words[piece]
        symbols = list(piece[:-1]) + [piece[-1] + '</w>']
        while len(symbols) > 1:
            pairs = list(zip(symbols, symbols[1:]))
            best = min(pairs, key=lambda p: self._ranks.get(p, math.inf))
            if best not in self._ranks:
                break
            merged, i = [], 0
            while i < len(symbols):
                if (i + 1 < len(symbols)
                        and (symbols[i], symbols[i + 1]) == best):
                    merged.append(symbols[i] + symbols[i + 1])
                    i += 2
                else:
                    merged.append(symbols[i])
                    i += 1
            symbols = merged
        self._words[piece] = symbols
        return symbols

    def encode(self, text: str) -> List[int]:
        """Token ids of ``text``, without the start and end tokens."""
        text = html.unescape(html.unescape(self._fix_text(text))).strip()
        text = self._regex.sub(r'\s+', ' ', text).strip().lower()
        ids = []
        for piece in self._regex.findall(self._pieces, text):
            characters = ''.join(self._bytes[b] for b in piece.encode())
            ids.extend(self.ids[s] for s in self._merge(characters))
        return ids

    def __call__(self,
                 texts: Sequence[str],
                 context_length: int = 77,
                 truncate: bool = False) -> np.ndarray:
        """``(N, context_length)`` int64 ids: start token, the text's
        tokens, end token, zeros.

        Args:
            texts: The texts.
            context_length: Tokens per text.
            truncate: Cut a text that is too long to ``context_length``
                tokens, the last one the end token (as mmseg's
                ``tokenize``); by default such a text is an error.

        Raises:
            TextTooLongError: a text is too long, unless ``truncate``.
        """
        out = np.zeros((len(texts), context_length), np.int64)
        for row, text in enumerate(texts):
            ids = [self.ids[self.START]
                   ] + self.encode(text) + [self.ids[self.END]]
            if len(ids) > context_length:
                if not truncate:
                    raise TextTooLongError(row, len(ids), context_length, text)
                ids = ids[:context_length - 1] + [self.ids[self.END]]
            out[row, :len(ids)] = ids
        return out


# ----------------------------------------------------------------- images
def read_image(path: str) -> np.ndarray:
    """An image file as ``(H, W, 3)`` uint8 RGB, turned as its EXIF
    orientation says; the error names a file that cannot be read."""
    from PIL import Image, ImageOps, UnidentifiedImageError
    if not osp.isfile(path):
        raise FileNotFoundError(f'image not found: {path}')
    if osp.getsize(path) == 0:
        raise ValueError(f'cannot read image {path}: the file is empty '
                         '(0 bytes)')
    try:
        with Image.open(path) as image:
            image = ImageOps.exif_transpose(image)
            return np.asarray(image.convert('RGB'))
    except UnidentifiedImageError as err:
        raise ValueError(
            f'cannot read image {path}: not an image file') from err
    except (OSError, ValueError, SyntaxError) as err:
        reason = ' '.join(str(err).split()) or type(err).__name__
        raise ValueError(f'cannot read image {path}: {reason}') from err


def resized_size(height: int, width: int,
                 rule: Optional[Dict[str, Any]]) -> Tuple[int, int]:
    """``(h, w)`` of an image after the config's test resize (the
    manifest's ``image.resize``), computed as mmseg's
    ``ResizeShortestEdge`` and mmcv's ``Resize`` compute it."""
    if rule is None:
        return height, width
    kind = rule['type']
    if kind == 'shortest_edge':
        size = float(rule['scale'])
        factor = size / min(height, width)
        if height < width:
            new_h, new_w = size, factor * width
        else:
            new_h, new_w = factor * height, size
        if max(new_h, new_w) > rule['max_size']:
            factor = rule['max_size'] * 1.0 / max(new_h, new_w)
            new_h, new_w = new_h * factor, new_w * factor
        # then a Resize keeping the ratio within that (w, h)
        kind, scale = 'rescale', (int(new_w + 0.5), int(new_h + 0.5))
    else:
        scale = tuple(rule['scale'])
    if kind == 'resize':
        return int(scale[1]), int(scale[0])
    if kind != 'rescale':
        raise ValueError(f'unknown resize type {kind!r} in the manifest')
    factor = min(
        max(scale) / max(height, width),
        min(scale) / min(height, width))
    return int(height * float(factor) + 0.5), int(width * float(factor) + 0.5)


def _source_positions(size: int,
                      out_size: int) -> Tuple[np.ndarray, np.ndarray]:
    """OpenCV's first source pixel and float32 weight of the second, per
    output pixel, before any clamping at the borders."""
    scale = 1.0 / (out_size / size)
    position = ((np.arange(out_size) + 0.5) * scale - 0.5).astype(np.float32)
    first = np.floor(position).astype(np.int64)
    return first, position - first.astype(np.float32)


def resize_uint8(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinearly resizes ``(H, W, C)`` uint8 to ``(height, width)`` with the
    integer arithmetic of OpenCV 5's ``resize(INTER_LINEAR)`` (what mmcv's
    resize calls), bit for bit.

    Weights are float32 rounded to 11 fractional bits; columns are mixed
    exactly in integers, rows by OpenCV's vector code: each column value
    shifted right by 4, multiplied by the row weight keeping the high 16
    bits, the two summed and rounded by 2 bits. Outside the image the
    column weights are clamped to the border pixel, the row weights are not
    (the rows themselves are). An exact halving of both sides averages
    2 x 2 blocks instead, as OpenCV does.
    """
    src_h, src_w = image.shape[:2]
    if (src_h, src_w) == (height, width):
        return image.copy()
    pixels = image.astype(np.int32)
    if src_h == 2 * height and src_w == 2 * width:
        blocks = (pixels[0::2, 0::2] + pixels[0::2, 1::2] +
                  pixels[1::2, 0::2] + pixels[1::2, 1::2] + 2) >> 2
        return blocks.astype(np.uint8)
    x0, fx = _source_positions(src_w, width)
    outside = (x0 < 0) | (x0 >= src_w - 1)
    fx[outside] = 0
    x0 = np.clip(x0, 0, src_w - 1)
    x1 = np.minimum(x0 + 1, src_w - 1)
    a1 = np.rint(fx * 2048).astype(np.int32)
    a0 = np.rint((1 - fx) * 2048).astype(np.int32)
    y0, fy = _source_positions(src_h, height)
    b1 = np.rint(fy * 2048).astype(np.int64)[:, None, None]
    b0 = np.rint((1 - fy) * 2048).astype(np.int64)[:, None, None]
    columns = (pixels[:, x0] * a0[:, None] + pixels[:, x1] * a1[:, None])
    top = columns[np.clip(y0, 0, src_h - 1)] >> 4
    bottom = columns[np.clip(y0 + 1, 0, src_h - 1)] >> 4
    rows = ((top * b0) >> 16) + ((bottom * b1) >> 16)
    return np.clip((rows + 2) >> 2, 0, 255).astype(np.uint8)


def _interpolation(
        size: int, out_size: int
) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """PyTorch's bilinear (``align_corners=False``) source pixels and
    float32 weights along one axis: the source position computed with one
    rounding (a fused multiply-add, as PyTorch's CPU kernel is compiled),
    clamped at 0."""
    scale = np.float32(size) / np.float32(out_size)
    position = (float(scale) * (np.arange(out_size) + 0.5) - 0.5).astype(
        np.float32)
    position = np.maximum(position, np.float32(0))
    first = np.minimum(np.floor(position).astype(np.int64), size - 1)
    second = first + (first < size - 1)
    weight = np.clip(position - first.astype(np.float32), 0,
                     1).astype(np.float32)
    return first, second, np.float32(1) - weight, weight


def resize_scores(scores: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinearly resizes ``(..., h, w)`` float32 scores to ``(height,
    width)`` with PyTorch's weights (``F.interpolate``, ``align_corners=
    False``); equal to it up to float rounding."""
    in_h, in_w = scores.shape[-2:]
    if in_w != width:
        x0, x1, w0, w1 = _interpolation(in_w, width)
        scores = scores[..., x0] * w0 + scores[..., x1] * w1
    if in_h != height:
        y0, y1, w0, w1 = _interpolation(in_h, height)
        scores = (
            scores[..., y0, :] * w0[:, None] +
            scores[..., y1, :] * w1[:, None])
    return scores


def first_argmax(scores: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """The maximum of ``(K, H, W)`` scores over classes and the first class
    that has it (NaN counting as the largest, as ``argmax``). Found by
    comparing each class's plane with the maximum, last class first:
    numpy's ``argmax`` over the first axis took 3.5 times longer (0.15
    against 0.04 s for 171 classes of a 512 x 683 image).
    """
    best = scores.max(axis=0)
    labels = np.zeros(best.shape, np.int64)
    for k in range(len(scores) - 1, -1, -1):
        labels[scores[k] == best] = k
    nan = np.isnan(best)
    if nan.any():
        labels[nan] = np.isnan(scores[:, nan]).argmax(axis=0)
    return best, labels


def resized_argmax(scores: np.ndarray, height: int, width: int) -> np.ndarray:
    """The class of highest score per pixel of ``(K, h, w)`` scores resized
    to ``(height, width)``, resizing a block of classes at a time (ties:
    the first class)."""
    num_classes = scores.shape[0]
    step = max(1, RESIZE_BLOCK_ELEMENTS // max(height * width, 1))
    best = labels = None
    for first in range(0, num_classes, step):
        block = resize_scores(scores[first:first + step], height, width)
        value, index = first_argmax(block)
        index += first
        if best is None:
            best, labels = value, index
            continue
        better = value > best
        best = np.where(better, value, best)
        labels = np.where(better, index, labels)
    return labels


def sliding_windows(height: int, width: int, window: Sequence[int],
                    stride: Sequence[int]) -> List[Tuple[int, int, int, int]]:
    """Windows ``(y1, y2, x1, x2)`` covering the image, as the segmentor's
    sliding window places them: per axis ``max(L - crop + stride - 1, 0)
    // stride + 1`` windows ``stride`` apart, the last moved back inside
    the image."""

    def spans(length, size, step):
        count = max(length - size + step - 1, 0) // step + 1
        ends = [min(i * step + size, length) for i in range(count)]
        return [(max(end - size, 0), end) for end in ends]

    return [(y1, y2, x1, x2) for y1, y2 in spans(height, window[0], stride[0])
            for x1, x2 in spans(width, window[1], stride[1])]


# ------------------------------------------------------------- the model
def _load_manifest(model_dir: str) -> Dict[str, Any]:
    path = osp.join(model_dir, MANIFEST)
    if not osp.isdir(model_dir):
        raise FileNotFoundError(f'model folder not found: {model_dir}')
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{model_dir} has no {MANIFEST}: it is not a folder written by '
            'tools/export_onnx.py')
    try:
        with open(path, encoding='utf-8') as f:
            manifest = json.load(f)
    except (ValueError, UnicodeDecodeError) as err:
        raise ValueError(f'{path} is not valid JSON: {err}') from err
    if not isinstance(manifest, dict) or manifest.get('format') != FORMAT:
        raise ValueError(
            f'{path} is not the manifest of a cascade_clip ONNX export (no '
            f'"format": "{FORMAT}"); export the model with '
            'tools/export_onnx.py')
    version = manifest.get('format_version')
    if version != FORMAT_VERSION:
        raise ValueError(
            f'{path} has format_version {version!r}; this runtime reads '
            f'version {FORMAT_VERSION}: use the onnx_runtime.py of the '
            'package version that exported it, or export again')
    return manifest


def _field(manifest: Dict[str, Any], path: str, keys: str) -> Any:
    """``manifest[k1][k2]...`` for ``keys`` ``'k1.k2'``; a missing key is
    an error that names it."""
    value = manifest
    for key in keys.split('.'):
        if not isinstance(value, dict) or key not in value:
            raise ValueError(f'{path} lacks "{keys}": the file is damaged '
                             'or not from tools/export_onnx.py; export again')
        value = value[key]
    return value


def _session(path: str, role: str, export_id: str, options: Any,
             providers: Sequence[str]) -> Any:
    """An onnxruntime session of one of the export's ONNX files, checked
    to be that file (its metadata's role and export id)."""
    import onnxruntime
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} is missing: copy the whole model '
                                'folder that tools/export_onnx.py wrote')
    try:
        session = onnxruntime.InferenceSession(
            path, sess_options=options, providers=list(providers))
    except Exception as err:  # onnxruntime raises its own types
        reason = ' '.join(str(err).split())[:200]
        raise ValueError(f'{path} is not an ONNX model onnxruntime can '
                         f'load: {reason}') from err
    meta = session.get_modelmeta().custom_metadata_map
    if meta.get(ROLE_KEY) != role:
        raise ValueError(
            f'{path} is not the {role.replace("_", " ")} of a cascade_clip '
            f'export (its metadata has {ROLE_KEY}={meta.get(ROLE_KEY)!r}); '
            'export the model with tools/export_onnx.py')
    if meta.get(EXPORT_ID_KEY) != export_id:
        raise ValueError(
            f'{path} comes from another export than {MANIFEST} beside it '
            f'(export id {meta.get(EXPORT_ID_KEY)} against {export_id}): '
            'copy the folder of one export whole')
    return session


def _shape(arg: Any) -> List[Any]:
    return [d if isinstance(d, int) else None for d in arg.shape]


@dataclass
class Segmentation:
    """One image's segmentation.

    Attributes:
        labels: ``(H, W)`` class index per pixel, at the image's size.
        class_names: The classes the indices refer to.
        shares: Fraction of the pixels given to each class, in class order.
    """
    labels: np.ndarray
    class_names: List[str]
    shares: Dict[str, float]


class OnnxSegmenter:
    """An exported Cascade-CLIP that segments images into any class names.

    Args:
        model_dir: The folder ``tools/export_onnx.py`` wrote.
        threads: onnxruntime's threads per operator (0: its default, one
            per physical core).
        graph_optimization: onnxruntime's graph optimisation level:
            ``'all'`` (default), ``'extended'``, ``'basic'`` or
            ``'disabled'``.
        providers: onnxruntime execution providers (default: the CPU's).
        windows_per_batch: Windows through the image model at once: one
            (default) holds the least memory (a 512 x 683 image's two
            ViT-B/16 windows at once peaked 470 MiB higher, at the same
            speed); ``None``: all of an image's, as the PyTorch path.
        image_model: Another image model file to run in place of the
            folder's (e.g. a quantised copy); it must take the same inputs.
        keep_text_encoder: Keep the text encoder loaded between class
            lists; by default it is loaded to embed a list and let go, so
            that it does not hold memory while images are segmented.

    Raises:
        FileNotFoundError: the folder or one of its files is missing.
        ValueError: a manifest or an ONNX file that is not this export's,
            or that do not match each other.
    """

    def __init__(self,
                 model_dir: str,
                 threads: int = 0,
                 graph_optimization: str = 'all',
                 providers: Sequence[str] = ('CPUExecutionProvider', ),
                 windows_per_batch: Optional[int] = 1,
                 image_model: Optional[str] = None,
                 keep_text_encoder: bool = False):
        import onnxruntime
        self.model_dir = model_dir
        manifest = _load_manifest(model_dir)
        self.manifest = manifest
        where = osp.join(model_dir, MANIFEST)
        self.export_id = _field(manifest, where, 'export_id')
        self.embed_dims = int(_field(manifest, where, 'embed_dims'))
        image = _field(manifest, where, 'image')
        self.resize_rule = _field(manifest, where, 'image.resize')
        self.channel_order = _field(manifest, where, 'image.channel_order')
        self.mean = np.asarray(
            _field(manifest, where, 'image.mean'), np.float32)
        self.std = np.asarray(_field(manifest, where, 'image.std'), np.float32)
        self.window = tuple(int(s) for s in image.get('window', ()))
        self.stride = tuple(int(s) for s in image.get('stride', ()))
        if len(self.window) != 2 or len(self.stride) != 2:
            raise ValueError(f'{where}: "image.window" and "image.stride" '
                             'must be [height, width]; export again')
        self.context_length = int(
            _field(manifest, where, 'text.context_length'))
        self.templates = _field(manifest, where, 'text.templates')
        self.model_classes = _field(manifest, where, 'model_classes')
        self.seen_score_shift = float(
            _field(manifest, where, 'model_classes.seen_score_shift'))
        self.class_lists = manifest.get('class_lists') or {}
        self.palettes = {
            tuple(p['classes']): np.asarray(p['colours'], np.uint8)
            for p in manifest.get('palettes') or ()
        }
        self.windows_per_batch = windows_per_batch
        levels = onnxruntime.GraphOptimizationLevel
        level = dict(
            all=levels.ORT_ENABLE_ALL,
            extended=levels.ORT_ENABLE_EXTENDED,
            basic=levels.ORT_ENABLE_BASIC,
            disabled=levels.ORT_DISABLE_ALL).get(graph_optimization)
        if level is None:
            raise ValueError(
                f'graph_optimization {graph_optimization!r}: choose all, '
                'extended, basic or disabled')
        self._options = onnxruntime.SessionOptions()
        self._options.graph_optimization_level = level
        if threads:
            self._options.intra_op_num_threads = int(threads)
        self._providers = tuple(providers)
        files = _field(manifest, where, 'files')
        self.image_model_path = image_model or osp.join(
            model_dir, _field(manifest, where, 'files.image_model'))
        self._image = _session(self.image_model_path, 'image_model',
                               self.export_id, self._options, self._providers)
        self._check_image_model()
        self._text = None
        self.keep_text_encoder = keep_text_encoder
        self.text_encoder_path = (
            osp.join(model_dir, files['text_encoder'])
            if files.get('text_encoder') else None)
        self._tokenizer = None
        self.vocabulary = osp.join(model_dir,
                                   _field(manifest, where, 'files.vocabulary'))
        self.font = (
            osp.join(model_dir, files['font']) if files.get('font') else None)
        self._fixed = self._fixed_classes(manifest.get('fixed_classes'))
        self._cache: Tuple[Any, Optional[np.ndarray]] = (None, None)

    # ------------------------------------------------------------ loading
    def _check_image_model(self) -> None:
        inputs = {i.name: _shape(i) for i in self._image.get_inputs()}
        outputs = [o.name for o in self._image.get_outputs()]
        expected = {
            'window': [None, 3, *self.window],
            'class_embeddings': [None, self.embed_dims],
            'score_shift': [None]
        }
        if set(inputs) != set(expected) or outputs != ['scores']:
            raise ValueError(
                f'{self.image_model_path} takes {sorted(inputs)} and gives '
                f'{outputs}; the image model of an export takes '
                f'{sorted(expected)} and gives [\'scores\']')
        for name, shape in expected.items():
            if inputs[name] != shape:
                raise ValueError(
                    f'{self.image_model_path} takes {name} of shape '
                    f'{inputs[name]}, but {MANIFEST} describes '
                    f'{shape} (window {self.window[0]}x{self.window[1]}, '
                    f'embed_dims {self.embed_dims}): the files do not '
                    'belong together; copy one export\'s folder whole')

    def _text_session(self) -> Any:
        """The text encoder's session, loaded at first use."""
        if self._text is None:
            self._text = _session(self.text_encoder_path, 'text_encoder',
                                  self.export_id, self._options,
                                  self._providers)
            inputs = {i.name: _shape(i) for i in self._text.get_inputs()}
            outputs = {o.name: _shape(o) for o in self._text.get_outputs()}
            if (inputs != {
                    'tokens': [None, self.context_length]
            } or outputs != {
                    'embeddings': [None, self.embed_dims]
            }):
                raise ValueError(
                    f'{self.text_encoder_path} maps {inputs} to {outputs}; '
                    f'{MANIFEST} describes tokens [N, {self.context_length}]'
                    f' to embeddings [N, {self.embed_dims}]: the files do '
                    'not belong together; copy one export\'s folder whole')
        return self._text

    def _fixed_classes(
        self, fixed: Optional[Dict[str, Any]]
    ) -> Optional[Tuple[List[str], List[str], np.ndarray]]:
        if not fixed:
            return None
        path = osp.join(self.model_dir, fixed['embeddings'])
        if not osp.isfile(path):
            raise FileNotFoundError(f'{path} is missing: copy the whole '
                                    'model folder that tools/export_onnx.py '
                                    'wrote')
        embeddings = np.load(path).astype(np.float32)
        names = list(fixed['names'])
        if embeddings.shape != (len(names), self.embed_dims):
            raise ValueError(
                f'{path} holds embeddings of shape {embeddings.shape}; '
                f'{MANIFEST} lists {len(names)} fixed classes of '
                f'{self.embed_dims} dimensions: export again')
        return names, list(fixed['templates']), embeddings

    @property
    def fixed_class_names(self) -> Optional[List[str]]:
        """The class list whose embeddings the folder stores, if any."""
        return None if self._fixed is None else list(self._fixed[0])

    # ---------------------------------------------------------- the text
    def tokenizer(self) -> ClipTokenizer:
        """The CLIP tokenizer of the folder's vocabulary (loaded once)."""
        if self._tokenizer is None:
            if not osp.isfile(self.vocabulary):
                raise FileNotFoundError(
                    f'{self.vocabulary} is missing: copy the whole model '
                    'folder that tools/export_onnx.py wrote')
            self._tokenizer = ClipTokenizer(self.vocabulary)
        return self._tokenizer

    def resolve_templates(self, templates: Union[str,
                                                 Sequence[str]]) -> List[str]:
        """``'multi'`` (the 15 of Context and COCO), ``'single'`` (VOC's)
        or a list of templates with one ``{}`` each."""
        if isinstance(templates, str):
            if templates not in self.templates:
                raise ValueError(
                    f'templates must be one of {sorted(self.templates)} or '
                    f'a list of strings, not {templates!r}')
            return list(self.templates[templates])
        templates = list(templates)
        bad = [t for t in templates if t.count('{}') != 1]
        if not templates or bad:
            raise ValueError('each prompt template needs exactly one "{}" '
                             f'for the class name; got {bad or templates}')
        return templates

    def class_embeddings(
            self,
            class_names: Sequence[str],
            templates: Union[str, Sequence[str], None] = None) -> np.ndarray:
        """``(K, C)`` float32 embeddings of the classes: the folder's stored
        ones for its fixed class list (unless other ``templates`` are
        asked for), else the text encoder's, computed once per list.

        Args:
            class_names: The classes.
            templates: See :meth:`resolve_templates`; default ``'multi'``,
                or the fixed list's templates for that list.
        """
        names = [str(n) for n in class_names]
        check_class_names(names)
        fixed = self._fixed
        if fixed is not None and names == fixed[0] and (
                templates is None
                or self.resolve_templates(templates) == fixed[1]):
            return fixed[2]
        templates = self.resolve_templates(templates or 'multi')
        key = (tuple(names), tuple(templates))
        if self._cache[0] == key:
            return self._cache[1]
        if self.text_encoder_path is None:
            raise ValueError(
                f'{self.model_dir} has no text encoder: it segments into '
                f'its fixed classes {fixed[0] if fixed else []} with their '
                f'templates only; export with the text encoder for other '
                'names')
        prompts = [t.format(name) for name in names for t in templates]
        try:
            tokens = self.tokenizer()(prompts, self.context_length)
        except TextTooLongError as err:
            name = names[err.index // len(templates)]
            shown = name if len(name) <= 60 else name[:57] + '...'
            template = templates[err.index % len(templates)]
            raise ValueError(
                f'class name {shown!r} is too long: {err.length} tokens in '
                f'the prompt {template!r} with the start and end tokens, '
                f'the text encoder reads {self.context_length}; shorten '
                'the name') from err
        session = self._text_session()
        embeddings = np.concatenate([
            session.run(None, {'tokens': tokens[i:i + PROMPTS_PER_RUN]})[0]
            for i in range(0, len(tokens), PROMPTS_PER_RUN)
        ])
        if not self.keep_text_encoder:
            self._text = session = None
        embeddings = embeddings.reshape(len(names), len(templates), -1)
        embeddings = _normalise(embeddings.mean(axis=1))
        self._cache = (key, embeddings)
        return embeddings

    # --------------------------------------------------------- the image
    def score_shift(self, names: Names, unseen: Names = ()) -> np.ndarray:
        """``(K,)`` float32: the model's seen-class shift on every class
        but ``unseen`` (by default every class is seen, as in
        ``tools/infer.py``: the shift then moves all scores alike)."""
        missing = sorted(set(unseen) - set(names))
        if missing:
            raise ValueError(f'unseen classes {missing} are not among the '
                             f'classes {list(names)}')
        unseen = set(unseen)
        seen = np.array([name not in unseen for name in names])
        return seen.astype(np.float32) * np.float32(self.seen_score_shift)

    def model_unseen(self, class_names: Sequence[str]) -> List[str]:
        """The classes of ``class_names`` that the model did not train on
        as seen classes (its config's split)."""
        names = self.model_classes.get('names')
        if names is None:
            raise ValueError(
                'the exported model has no class names (its config gave '
                'embeddings from a file): name the unseen classes')
        seen = {names[i] for i in self.model_classes['seen']}
        return [name for name in class_names if name not in seen]

    def normalise(self, image: np.ndarray) -> np.ndarray:
        """``(1, 3, h, w)`` float32 model input of an ``(h, w, 3)`` uint8
        RGB image (already resized)."""
        pixels = image if self.channel_order == 'rgb' else image[..., ::-1]
        pixels = pixels.astype(np.float32).transpose(2, 0, 1)
        return ((pixels - self.mean[:, None, None]) /
                self.std[:, None, None])[None]

    def window_scores(self, windows: np.ndarray, embeddings: np.ndarray,
                      shift: np.ndarray) -> np.ndarray:
        """The image model: ``(B, 3, H, W)`` normalised windows ->
        ``(B, K, H, W)`` calibrated scores."""
        return self._image.run(
            None,
            dict(
                window=np.ascontiguousarray(windows, np.float32),
                class_embeddings=np.ascontiguousarray(embeddings, np.float32),
                score_shift=np.ascontiguousarray(shift, np.float32)))[0]

    def scores(self,
               inputs: np.ndarray,
               embeddings: np.ndarray,
               shift: np.ndarray,
               source: str = 'the image') -> np.ndarray:
        """``(K, h, w)`` scores of a ``(1, 3, h, w)`` normalised image: the
        windows' scores summed and divided by the windows over each
        pixel."""
        _, _, height, width = inputs.shape
        if height < self.window[0] or width < self.window[1]:
            raise ValueError(
                f'{source} is {height}x{width} after the test resize, '
                f'smaller than the model\'s {self.window[0]}x'
                f'{self.window[1]} window; the ONNX image model takes '
                'whole windows: use a larger image, or PyTorch '
                '(tools/infer.py)')
        windows = sliding_windows(height, width, self.window, self.stride)
        per_batch = self.windows_per_batch or len(windows)
        total = np.zeros((len(embeddings), height, width), np.float32)
        counts = np.zeros((height, width), np.float32)
        for first in range(0, len(windows), per_batch):
            group = windows[first:first + per_batch]
            crops = np.concatenate(
                [inputs[:, :, y1:y2, x1:x2] for y1, y2, x1, x2 in group])
            for (y1, y2, x1, x2), window in zip(
                    group, self.window_scores(crops, embeddings, shift)):
                total[:, y1:y2, x1:x2] += window
                counts[y1:y2, x1:x2] += 1
        total /= counts
        return total

    def __call__(
        self,
        image: Union[str, np.ndarray],
        class_names: Sequence[str],
        templates: Union[str, Sequence[str], None] = None,
        unseen: Sequence[str] = ()
    ) -> Segmentation:
        """Segments an image into ``class_names``.

        Args:
            image: A file, or an ``(H, W, 3)`` uint8 RGB array.
            class_names: Two or more distinct names.
            templates: See :meth:`class_embeddings`.
            unseen: Classes whose scores keep no seen-class shift (see
                :meth:`score_shift`).
        """
        source = image if isinstance(image, str) else 'the image'
        if isinstance(image, str):
            image = read_image(image)
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f'the image must be (H, W, 3) uint8 RGB, not '
                             f'{image.shape} {image.dtype}')
        names = [str(n) for n in class_names]
        embeddings = self.class_embeddings(names, templates)
        shift = self.score_shift(names, unseen)
        height, width = image.shape[:2]
        size = resized_size(height, width, self.resize_rule)
        resized = resize_uint8(image, *size)
        scores = self.scores(
            self.normalise(resized), embeddings, shift, source)
        labels = resized_argmax(scores, height, width)
        counts = np.bincount(labels.ravel(), minlength=len(names))
        shares = {
            name: float(count) / labels.size
            for name, count in zip(names, counts)
        }
        return Segmentation(labels, names, shares)

    # ----------------------------------------------------------- pictures
    def colours(self, class_names: Sequence[str]) -> np.ndarray:
        """``(K, 3)`` uint8: a dataset's colours for exactly its class list,
        else colours well apart in hue (``tools/infer.py``'s palette)."""
        palette = self.palettes.get(tuple(class_names))
        if palette is not None and len(palette) == len(class_names):
            return palette
        return class_colours(len(class_names))

    def save(self, image: np.ndarray, segmentation: Segmentation, out_dir: str,
             stem: str) -> Tuple[str, str]:
        """Writes ``<stem>_mask.png`` and ``<stem>_overlay.png`` of an
        ``(H, W, 3)`` uint8 RGB image, as ``tools/infer.py`` draws them."""
        colours = self.colours(segmentation.class_names)
        legend = legend_by_area(segmentation.shares, colours)
        return save_label_pictures(image, segmentation.labels, legend, colours,
                                   out_dir, stem, self.font)


def _normalise(x: np.ndarray) -> np.ndarray:
    """Rows divided by their L2 norm (at least 1e-12), in float32."""
    norm = np.sqrt((x.astype(np.float32)**2).sum(axis=-1, keepdims=True))
    return (x / np.maximum(norm, np.float32(1e-12))).astype(np.float32)


def check_class_names(names: Sequence[str]) -> None:
    """Two or more distinct class names."""
    if not names:
        raise ValueError('no class names given: give at least two')
    if len(names) < 2:
        raise ValueError(
            f'one class ({names[0]!r}): with one class every pixel is that '
            'class; give at least two class names, e.g. '
            f'"{names[0]},background"')
    if len(set(names)) != len(names):
        raise ValueError(f'class names repeat: {list(names)}')


# --------------------------------------------------------------- drawing
def class_colours(num_classes: int) -> np.ndarray:
    """``(K, 3)`` uint8 colours, well apart in hue (golden-ratio steps)."""
    colours = [
        colorsys.hsv_to_rgb((0.61803398875 * i) % 1.0, 0.65, 0.95)
        for i in range(num_classes)
    ]
    return (np.array(colours) * 255).round().astype(np.uint8)


def colorize(labels: np.ndarray, colours: np.ndarray) -> np.ndarray:
    """``(H, W)`` class indices to ``(H, W, 3)`` uint8 colours."""
    table = np.zeros((max(256, len(colours),
                          int(labels.max(initial=0)) + 1), 3), np.uint8)
    table[:len(colours)] = colours
    return table[labels]


def _percent(share: float) -> str:
    return '<0.1%' if 0 < share < 0.0005 else f'{100 * share:.1f}%'


def legend_by_area(
        shares: Dict[str, float],
        colours: np.ndarray) -> List[Tuple[str, Optional[np.ndarray]]]:
    """``(text, colour)`` per legend line: the classes present, largest
    first; past :data:`MAX_LEGEND_LINES` one line sums up the rest."""
    names = list(shares)
    present = sorted(
        ((share, i) for i, share in enumerate(shares.values()) if share > 0),
        key=lambda item: (-item[0], item[1]))
    shown = (
        present if len(present) <= MAX_LEGEND_LINES else
        present[:MAX_LEGEND_LINES - 1])
    lines = [(f'{names[i]}: {_percent(share)}', colours[i])
             for share, i in shown]
    rest = present[len(shown):]
    if rest:
        lines.append((f'{len(rest)} more classes: '
                      f'{_percent(sum(s for s, _ in rest))}', None))
    return lines


def _blend(image: np.ndarray, colours: np.ndarray, alpha: float) -> np.ndarray:
    """``alpha * colours + (1 - alpha) * image``, rounded, 512 rows at a
    time."""
    out = np.empty_like(image)
    for top in range(0, image.shape[0], 512):
        part = slice(top, top + 512)
        mixed = colours[part].astype(np.float32)
        mixed *= alpha
        mixed += (1 - alpha) * image[part].astype(np.float32)
        out[part] = np.rint(mixed)
    return out


def _font(path: Optional[str], size: int) -> Any:
    from PIL import ImageFont
    if path is not None and osp.isfile(path):
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            pass
    return ImageFont.load_default(size)


def draw_overlay(image: np.ndarray,
                 labels: np.ndarray,
                 legend: Sequence[Tuple[str, Optional[np.ndarray]]],
                 colours: np.ndarray,
                 font: Optional[str] = None,
                 alpha: float = 0.5) -> np.ndarray:
    """The image with its labels' colours blended in and a legend: over
    the top-left corner where it covers at most half the width and half the
    height, else beside the image on white.

    Args:
        image: ``(H, W, 3)`` uint8 RGB.
        labels: ``(H, W)`` class indices.
        legend: ``(text, colour)`` per line (colour ``None``: no swatch).
        colours: ``(K, 3)`` uint8 colour of each class.
        font: A TrueType font file (default: Pillow's own font).
        alpha: Weight of the colours.
    """
    from PIL import Image, ImageDraw
    height, width = labels.shape
    mixed = _blend(image, colorize(labels, colours), alpha)
    size = max(14, round(min(height, width) / 40))
    font = _font(font, size)
    pad, row = max(4, size // 3), size + max(4, size // 3)
    texts = [text for text, _ in legend]
    measure = ImageDraw.Draw(Image.new('RGB', (1, 1)))
    text_width = max((measure.textlength(t, font=font) for t in texts),
                     default=0)
    box_width = int(np.ceil(3 * pad + size + text_width))
    box_height = 2 * pad + row * len(texts)
    beside = box_width > width // 2 or box_height > height // 2
    if beside:
        canvas = np.full((max(height, box_height), width + box_width, 3), 255,
                         np.uint8)
        canvas[:height, :width] = mixed
        picture, left = Image.fromarray(canvas), width
    else:
        picture, left = Image.fromarray(mixed), 0
    draw = ImageDraw.Draw(picture, 'RGBA')
    if not beside:
        draw.rectangle((0, 0, box_width - 1, box_height - 1),
                       fill=(255, 255, 255, 200))
    for i, (text, colour) in enumerate(legend):
        y = pad + i * row
        sy = y + (row - size) // 2
        x = left + pad
        if colour is not None:
            draw.rectangle((x, sy, x + size - 1, sy + size - 1),
                           fill=tuple(int(c) for c in colour),
                           outline=(64, 64, 64))
        draw.text((x + size + pad, sy), text, fill=(0, 0, 0), font=font)
    return np.asarray(picture)


def save_label_pictures(image: np.ndarray,
                        labels: np.ndarray,
                        legend: Sequence[Tuple[str, Optional[np.ndarray]]],
                        colours: np.ndarray,
                        out_dir: str,
                        stem: str,
                        font: Optional[str] = None) -> Tuple[str, str]:
    """Writes ``<stem>_mask.png`` (the labels in ``colours``) and
    ``<stem>_overlay.png`` (:func:`draw_overlay`); returns their paths."""
    from PIL import Image
    os.makedirs(out_dir, exist_ok=True)
    mask = osp.join(out_dir, f'{stem}_mask.png')
    overlay = osp.join(out_dir, f'{stem}_overlay.png')
    Image.fromarray(colorize(labels, colours)).save(mask)
    Image.fromarray(draw_overlay(image, labels, legend, colours,
                                 font)).save(overlay)
    return mask, overlay


# ---------------------------------------------------------- the command
def _is_output_of(name: str, others: Sequence[str]) -> bool:
    for other in others:
        if other != name and any(name == stem + suffix
                                 for stem in (osp.splitext(other)[0], other)
                                 for suffix in OUTPUT_SUFFIXES):
            return True
    return False


def list_images(path: str, out_dir: str) -> Tuple[List[str], List[str]]:
    """The image, or a folder's images (sorted), and the files left out as
    pictures this command wrote there (when ``out_dir`` is the folder)."""
    if not osp.isdir(path):
        if not osp.isfile(path):
            raise FileNotFoundError(f'image or folder not found: {path}')
        return [path], []
    names = sorted(
        n for n in os.listdir(path) if n.lower().endswith(IMAGE_SUFFIXES)
        and osp.isfile(osp.join(path, n)))
    skipped = []
    if osp.isdir(out_dir) and osp.samefile(path, out_dir):
        skipped = [n for n in names if _is_output_of(n, names)]
        names = [n for n in names if n not in skipped]
    if not names:
        raise FileNotFoundError(
            f'no images ({", ".join(IMAGE_SUFFIXES)}) in {path}')
    return ([osp.join(path, n)
             for n in names], [osp.join(path, n) for n in skipped])


def output_stems(images: Sequence[str]) -> List[str]:
    """One output stem per image: its name without the extension, or with
    it where two images share a stem; a number where names still
    collide."""
    names = [osp.basename(p) for p in images]
    plain = Counter(osp.splitext(n)[0].lower() for n in names)
    stems = [
        osp.splitext(n)[0] if plain[osp.splitext(n)[0].lower()] == 1 else n
        for n in names
    ]
    taken = Counter(s.lower() for s in stems)
    seen: Counter = Counter()
    unique = []
    for stem in stems:
        seen[stem.lower()] += 1
        unique.append(f'{stem}_{seen[stem.lower()]}' if taken[stem.lower()] >
                      1 else stem)
    return unique


def parse_class_list(text: str, class_lists: Dict[str,
                                                  List[str]]) -> List[str]:
    """``--classes``: comma-separated names, a class list the manifest
    names (``voc20``, ``coco_stuff171``, ...), a text file with one name a
    line, or one name."""
    if ',' in text:
        names = [name.strip() for name in text.split(',') if name.strip()]
    else:
        names = [text.strip()] if text.strip() else []
    if not names:
        raise ValueError(
            f'--classes {text!r} names no class: give class names separated '
            'by commas ("cat,grass,sky"), a class list '
            f'({", ".join(sorted(class_lists))}) or a text file with one '
            'name per line')
    if len(names) > 1:
        return names
    if text in class_lists:
        return list(class_lists[text])
    if osp.isfile(text):
        with open(text, encoding='utf-8') as f:
            names = [line.strip() for line in f if line.strip()]
        if not names:
            raise ValueError(f'class name file {text} lists no class')
        return names
    if os.sep in text or text.lower().endswith('.txt'):
        raise FileNotFoundError(f'class name file not found: {text}')
    return names


def _shares_line(shares: Dict[str, float]) -> str:
    if len(shares) <= 20:
        return ', '.join(f'{name} {100 * share:.1f}%'
                         for name, share in shares.items())
    present = sorted(((s, n) for n, s in shares.items() if s > 0),
                     reverse=True)
    return ', '.join(f'{n} {100 * s:.1f}%' for s, n in present) + (
        f' ({len(shares) - len(present)} classes at 0%)')


class _Parser(argparse.ArgumentParser):

    def error(self, message: str):
        self.exit(2, f'error: {message} (see {self.prog} --help)\n')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = _Parser(
        prog='onnx_runtime',
        description='Segment images into any class names with an exported '
        'Cascade-CLIP model (onnxruntime, no PyTorch)')
    parser.add_argument('images', help='an image or a folder of images')
    parser.add_argument(
        '--model',
        required=True,
        help='the folder tools/export_onnx.py '
        'wrote')
    parser.add_argument(
        '--classes',
        required=True,
        help='comma-separated class names, a text file with one per line, '
        'or a class list the model folder names (voc20, coco_stuff171, ...)')
    parser.add_argument(
        '--templates',
        choices=['multi', 'single'],
        help='prompt templates (default: multi, or those of the folder\'s '
        'fixed classes)')
    parser.add_argument('--out', default='work_dirs/infer', help='folder')
    parser.add_argument(
        '--unseen',
        default='',
        help='comma-separated classes whose scores keep no seen-class '
        'shift, or "model": those the model did not train on (default: '
        'none, as tools/infer.py)')
    parser.add_argument(
        '--threads',
        type=int,
        default=0,
        help='onnxruntime threads (default: one per core)')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace pictures that exist in --out')
    parser.add_argument(
        '--skip-bad',
        action='store_true',
        help='exit with status 0 when some images of a folder cannot be '
        'read (they are reported and skipped either way)')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """The command line; returns the exit status."""
    args = parse_args(argv)
    try:
        return _run(args)
    except (OSError, ValueError, KeyError, ImportError) as err:
        sys.stdout.flush()
        message = ' '.join(str(err).split()) or type(err).__name__
        if isinstance(err, ImportError) and err.name:
            message = (f'{message}: the runtime needs onnxruntime, numpy, '
                       'pillow, ftfy and regex (pip install onnxruntime '
                       'numpy pillow ftfy regex)')
        print(f'error: {message}', file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    segmenter = OnnxSegmenter(args.model, threads=args.threads)
    names = parse_class_list(args.classes, segmenter.class_lists)
    check_class_names(names)
    if args.unseen.strip() == 'model':
        unseen = segmenter.model_unseen(names)
    else:
        unseen = [n.strip() for n in args.unseen.split(',') if n.strip()]
    images, skipped = list_images(args.images, args.out)
    if skipped:
        shown = ', '.join(skipped[:3]) + (', ...' if len(skipped) > 3 else '')
        print(f'left out {len(skipped)} pictures this tool wrote into the '
              f'folder: {shown}')
    outputs = [[osp.join(args.out, stem + s) for s in OUTPUT_SUFFIXES]
               for stem in output_stems(images)]
    existing = [p for pair in outputs for p in pair if osp.lexists(p)]
    if existing and not args.overwrite:
        more = f' and {len(existing) - 3} more' if len(existing) > 3 else ''
        raise FileExistsError(
            f'{", ".join(existing[:3])}{more} '
            f'{"exists" if len(existing) == 1 else "exist"} already: pass '
            '--overwrite to replace, or choose another --out')
    single = not osp.isdir(args.images)
    failed = []
    for path, (mask, _) in zip(images, outputs):
        try:
            image = read_image(path)
        except (OSError, ValueError) as err:
            if single:
                raise
            failed.append(path)
            print(f'skipped: {err}', file=sys.stderr, flush=True)
            continue
        segmentation = segmenter(image, names, args.templates, unseen)
        stem = osp.basename(mask)[:-len(OUTPUT_SUFFIXES[0])]
        mask, overlay = segmenter.save(image, segmentation, args.out, stem)
        print(f'{path}: {_shares_line(segmentation.shares)}')
        print(f'  wrote {mask} and {overlay}', flush=True)
    if failed and not args.skip_bad:
        print(
            f'error: {len(failed)} of {len(images)} images could not be '
            f'read ({", ".join(failed[:3])}'
            f'{", ..." if len(failed) > 3 else ""}); the others were '
            'segmented (--skip-bad: exit 0)',
            file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
