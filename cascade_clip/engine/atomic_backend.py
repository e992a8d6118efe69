"""A local file backend that never leaves a half-written file in place.

mmengine's ``CheckpointHook`` writes checkpoints (and ``last_checkpoint``)
through a file backend; the configs select this one with
``backend_args=dict(backend='atomic_local')``. Each file is written to a
temporary file in the same folder, flushed to disk and renamed over the
target (:func:`~cascade_clip.utils.atomic_files.write_atomic`), so a
process killed while saving leaves the previous checkpoint intact.
"""
from pathlib import Path
from typing import Union

from mmengine.fileio import LocalBackend, register_backend

from ..utils.atomic_files import write_atomic


@register_backend('atomic_local')
class AtomicLocalBackend(LocalBackend):
    """:class:`LocalBackend` whose writes are atomic renames."""

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        write_atomic(obj, filepath)

    def put_text(self,
                 obj: str,
                 filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
        write_atomic(obj.encode(encoding), filepath)
