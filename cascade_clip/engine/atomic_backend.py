"""A local file backend that never leaves a half-written file in place.

mmengine's ``CheckpointHook`` writes checkpoints (and ``last_checkpoint``)
through a file backend; the configs select this one with
``backend_args=dict(backend='atomic_local')``. Each file is written to a
temporary file in the same folder, flushed to disk and renamed over the
target, so a process killed while saving leaves the previous checkpoint
intact.
"""
import os
import os.path as osp
import tempfile
from pathlib import Path
from typing import Union

from mmengine.fileio import LocalBackend, register_backend


def write_atomic(data: Union[bytes, str], path: Union[str, Path]) -> None:
    """Writes ``data`` to ``path`` through a temporary file and a rename."""
    path = str(path)
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f'.{osp.basename(path)}.',
                               suffix='.part')
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data.encode('utf-8') if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


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
