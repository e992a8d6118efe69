"""Writing a file so that a reader never sees it half-written."""
import os
import os.path as osp
import tempfile
from pathlib import Path
from typing import Union


def write_atomic(data: Union[bytes, str], path: Union[str, Path]) -> None:
    """Writes ``data`` to ``path`` through a temporary file in the same
    folder, flushed to disk and renamed over ``path``: a process killed
    meanwhile leaves the previous file intact."""
    path = str(path)
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=folder, prefix=f'.{osp.basename(path)}.', suffix='.part')
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
