"""What a measurement ran on, as every measuring tool records it: the CPU,
its cores and torch's threads, the GPU, the versions of Python, the
libraries and this package, and the commit of a checkout."""
import importlib
import os
import os.path as osp
import platform
import subprocess
from typing import Any, Dict, Optional, Sequence

import torch

from ..version import __version__

# The repository a checkout (or an editable install) runs from.
SOURCE_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def cpu_name() -> str:
    """The CPU's model name (``/proc/cpuinfo``, else ``platform``)."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def source_commit(root: str = SOURCE_ROOT) -> Optional[str]:
    """The short git commit of the checkout ``root`` the package runs
    from; ``None`` for an installed package (``root`` is then not a
    checkout: no ``.git``), without git, or where git fails."""
    if not osp.exists(osp.join(root, '.git')):
        return None
    try:
        return subprocess.run(['git', 'rev-parse', '--short', 'HEAD'],
                              cwd=root,
                              capture_output=True,
                              text=True,
                              check=True).stdout.strip() or None
    except (OSError, subprocess.CalledProcessError):
        return None


def _version(module: str) -> Optional[str]:
    try:
        return importlib.import_module(module).__version__
    except ImportError:
        return None


def describe_machine(device: Optional[Any] = None,
                     libraries: Sequence[str] = ()) -> dict:
    """What a measurement runs on.

    Args:
        device: The device measured (a GPU's name is recorded for a CUDA
            device).
        libraries: Further modules whose versions matter (e.g.
            ``'onnxruntime'``); ``None`` for one not installed.

    Returns:
        ``cpu``, ``cpu_cores``, ``threads`` (torch's), ``gpu`` (``None``
        off the GPU), ``python``, ``torch``, ``cuda`` (torch's build),
        ``numpy``, ``cascade_clip`` (this package's version), ``commit``
        (:func:`source_commit`) and each of ``libraries``.
    """
    import numpy as np
    device = torch.device(device) if device is not None else None
    info = dict(
        cpu=cpu_name(),
        cpu_cores=os.cpu_count(),
        threads=torch.get_num_threads(),
        gpu=torch.cuda.get_device_name(device)
        if device is not None and device.type == 'cuda' else None,
        python=platform.python_version(),
        torch=torch.__version__,
        cuda=torch.version.cuda,
        numpy=np.__version__,
        cascade_clip=__version__,
        commit=source_commit())
    info.update({library: _version(library) for library in libraries})
    return info


def format_machine(info: Dict[str, Any]) -> str:
    """:func:`describe_machine`'s result on one line."""
    fixed = ('cpu', 'cpu_cores', 'threads', 'gpu', 'python', 'torch', 'cuda',
             'cascade_clip', 'commit')
    libraries = ', '.join(f'{name} {version}'
                          for name, version in info.items()
                          if name not in fixed)
    return (f'{info["cpu"]}, {info["cpu_cores"]} cores, {info["threads"]} '
            f'torch threads; GPU {info["gpu"] or "none"}; Python '
            f'{info["python"]}, torch {info["torch"]} (CUDA '
            f'{info["cuda"] or "none"}), {libraries}; cascade_clip '
            f'{info["cascade_clip"]}, commit {info["commit"] or "unknown"}')
