"""Loading transforms whose errors name the file that could not be read.

mmcv's ``LoadImageFromFile`` and mmseg's ``LoadAnnotations`` let the decoder's
error through: with Pillow it reads ``cannot identify image file <_io.BytesIO
object ...>`` or ``image file is truncated``, with OpenCV an empty file gives
``!buf.empty()`` and an undecodable label ``'NoneType' object has no attribute
'squeeze'``; none names the file. These subclasses re-raise any failure as
``ValueError('cannot read image|label <path>: <cause>')``. A missing file
still raises the backend's ``FileNotFoundError``, which names it.
"""
from typing import Optional

from mmcv.transforms import LoadImageFromFile
from mmseg.datasets.transforms import LoadAnnotations
from mmseg.registry import TRANSFORMS


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
    """mmseg's ``LoadAnnotations`` whose decoding errors name the label
    file."""

    def _load_seg_map(self, results: dict) -> None:
        try:
            super()._load_seg_map(results)
        except (FileNotFoundError, AssertionError):
            # AssertionError: the reduce_zero_label mismatch check, not a
            # decoding failure.
            raise
        except Exception as error:
            raise _cannot_read('label', results['seg_map_path'],
                               error) from error
