"""Loading transforms that check what they load and name the file when
something is wrong.

mmcv's ``LoadImageFromFile`` and mmseg's ``LoadAnnotations`` let the decoder's
error through: with Pillow it reads ``cannot identify image file <_io.BytesIO
object ...>`` or ``image file is truncated``, with OpenCV an empty file gives
``!buf.empty()`` and an undecodable label ``'NoneType' object has no attribute
'squeeze'``; none names the file. They also accept a label map that does not
fit its image or holds values that are no class, which then either changes
the metrics silently or fails much later, far from the file. The checked
versions raise a ``ValueError`` that names the file(s) and values instead.
A missing file still raises the backend's ``FileNotFoundError``, which names
it.
"""
import logging
from typing import Optional, Set

import mmcv
import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import LoadImageFromFile
from mmengine.logging import print_log
from mmseg.datasets.transforms import LoadAnnotations
from mmseg.registry import TRANSFORMS

OUT_OF_RANGE_CHOICES = ('error', 'ignore')
_MAX_LISTED_VALUES = 10


def _cannot_read(what: str, path: str, error: Exception) -> ValueError:
    return ValueError(
        f'cannot read {what} {path}: {type(error).__name__}: {error}')


@TRANSFORMS.register_module()
class CheckedLoadImageFromFile(LoadImageFromFile):
    """``LoadImageFromFile`` whose decoding errors name the image file."""

    def transform(self, results: dict) -> Optional[dict]:
        try:
            return super().transform(results)
        except FileNotFoundError:
            raise
        except Exception as error:
            raise _cannot_read('image', results['img_path'], error) from error


@TRANSFORMS.register_module()
class CheckedLoadAnnotations(LoadAnnotations):
    """mmseg's ``LoadAnnotations`` that checks the label map it loads.

    - A label file that cannot be decoded, or that holds colours instead of
      one class index per pixel, raises ``ValueError`` naming it.
    - A label map whose size differs from its image's (``ori_shape``, which
      the image loading sets) raises ``ValueError`` naming both files and
      both sizes.
    - When the dataset tells the classes (this package's datasets put
      ``num_classes``, ``ignore_index`` and ``out_of_range_labels`` into each
      sample), every raw value of the file must map to a class or to the
      ignore index (after ``reduce_zero_label``); otherwise ``ValueError``
      names the file and the raw values, or, with
      ``out_of_range_labels='ignore'`` on the dataset, those pixels become
      the ignore index (with a warning naming the file, once per file).
    - Labels stay 8-bit (as mmseg's) unless the classes or the ignore index
      need more: 16-bit PNGs of 459 or 847 classes keep their values.

    Without the dataset's class count (e.g. under one of mmseg's own dataset
    classes) it loads exactly as mmseg's ``LoadAnnotations``.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._warned: Set[str] = set()

    def _load_seg_map(self, results: dict) -> None:
        path = results['seg_map_path']
        try:
            raw = mmcv.imfrombytes(
                fileio.get(path, backend_args=self.backend_args),
                flag='unchanged',
                backend=self.imdecode_backend)
            if raw is None:
                raise ValueError('the decoder returned no image')
        except FileNotFoundError:
            raise
        except Exception as error:
            raise _cannot_read('label', path, error) from error
        if raw.ndim == 3 and raw.shape[2] == 1:
            raw = raw[..., 0]
        if raw.ndim != 2:
            raise ValueError(
                f'label file {path} is a {raw.shape[2]}-channel image; a '
                'label map holds one class index per pixel (a grey-scale or '
                'palette PNG)')
        self._check_size(results, raw)

        if self.reduce_zero_label is None:
            self.reduce_zero_label = results['reduce_zero_label']
        assert self.reduce_zero_label == results['reduce_zero_label'], \
            'Initialize dataset with `reduce_zero_label` as ' \
            f'{results["reduce_zero_label"]} but when load annotation ' \
            f'the `reduce_zero_label` is {self.reduce_zero_label}'

        if results.get('num_classes') is None:
            label = _mmseg_label(raw, self.reduce_zero_label)
        else:
            label = self._checked_label(results, raw)
        if results.get('label_map', None) is not None:
            original = label.copy()
            for old_id, new_id in results['label_map'].items():
                label[original == old_id] = new_id
        results['gt_seg_map'] = label
        results['seg_fields'].append('gt_seg_map')

    @staticmethod
    def _check_size(results: dict, raw: np.ndarray) -> None:
        image_shape = results.get('ori_shape')
        if image_shape is None or tuple(image_shape[:2]) == raw.shape:
            return
        raise ValueError(
            f'image {results.get("img_path")} is {_size(image_shape)} but '
            f'its label {results["seg_map_path"]} is {_size(raw.shape)} '
            '(height x width); an image and its label map must have the '
            'same size')

    def _checked_label(self, results: dict, raw: np.ndarray) -> np.ndarray:
        """The label map in class indices, with every raw value checked
        against the dataset's classes."""
        path = results['seg_map_path']
        num_classes = int(results['num_classes'])
        ignore = int(results.get('ignore_index', 255))
        if raw.dtype.kind not in 'ui':
            raise ValueError(f'label file {path} holds {raw.dtype} values; '
                             'a label map holds integer class indices')
        values = _present_values(raw)
        if self.reduce_zero_label:
            is_class = (values >= 1) & (values <= num_classes)
            is_ignored = (values == 0) | (values == ignore)
        else:
            is_class = values < num_classes
            is_ignored = values == ignore
        bad = values[~(is_class | is_ignored)]

        label = raw.astype(np.int64)
        if self.reduce_zero_label:
            label = np.where((raw == 0) | (raw == ignore), ignore, label - 1)
        if bad.size:
            listed = _list_values(bad)
            policy = results.get('out_of_range_labels', 'error')
            if policy != 'ignore':
                dataset = results.get('dataset_name', 'the dataset')
                valid = _valid_values(num_classes, ignore,
                                      self.reduce_zero_label)
                raise ValueError(
                    f'label file {path} holds values {listed} that are not '
                    f'classes of {dataset} ({valid}); fix the file, or set '
                    'out_of_range_labels=\'ignore\' on the dataset to '
                    'ignore those pixels')
            if path not in self._warned:
                self._warned.add(path)
                print_log(
                    f'label file {path} holds values {listed} that are not '
                    f'classes; their pixels are ignored '
                    '(out_of_range_labels=\'ignore\')',
                    logger='current',
                    level=logging.WARNING)
            label[np.isin(raw, bad)] = ignore
        dtype = np.uint8 if max(num_classes - 1, ignore) <= 255 else (
            np.uint16 if max(num_classes - 1, ignore) <= 65535 else np.int32)
        return label.astype(dtype)


def _mmseg_label(raw: np.ndarray, reduce_zero_label: bool) -> np.ndarray:
    """mmseg's conversion: 8-bit, optionally 0 -> 255 and k -> k - 1."""
    label = raw.astype(np.uint8)
    if reduce_zero_label:
        label[label == 0] = 255
        label = label - 1
        label[label == 254] = 255
    return label


def _present_values(raw: np.ndarray) -> np.ndarray:
    """The distinct values of an integer array, as int64."""
    if raw.dtype in (np.uint8, np.uint16):
        return np.flatnonzero(np.bincount(raw.ravel())).astype(np.int64)
    return np.unique(raw).astype(np.int64)


def _list_values(values: np.ndarray) -> str:
    shown = values[:_MAX_LISTED_VALUES].tolist()
    more = len(values) - len(shown)
    return f'{shown}' + (f' and {more} more' if more else '')


def _valid_values(num_classes: int, ignore: int,
                  reduce_zero_label: bool) -> str:
    if reduce_zero_label:
        return (f'raw values 1 to {num_classes} are its {num_classes} '
                f'classes, 0 and {ignore} are ignored')
    return (f'values 0 to {num_classes - 1} are its {num_classes} classes, '
            f'{ignore} is ignored')


def _size(shape) -> str:
    return f'{shape[0]}x{shape[1]}'
