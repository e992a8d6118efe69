"""Memory as every measuring tool reports it: the peak of a process, of a
block of code or of a command, and the memory free on a device now.

Peak memory is the most memory in use at once:

- on the CPU, the resident set size (RSS, the physical memory a process
  holds) at its high-water mark, Linux's ``VmHWM``: it starts anew when a
  process starts a program (``exec``), and a block resets it at its start
  (``/proc/self/clear_refs``; the process's peak then counts from there)
  after the C allocator has given back the memory it holds free (glibc's
  ``malloc_trim``; otherwise what an earlier block freed is reused
  unseen). Where there is no ``VmHWM``, a process's peak is
  ``getrusage``'s ``ru_maxrss``, which also counts the process that
  started it (its memory at the start), and a block's is unknown
  (``None``);
- on a CUDA device, the caching allocator's peak of tensor memory
  (``torch.cuda.max_memory_allocated``), of the block only.

This file imports only the standard library (torch for a CUDA device, when
asked), so that a process measuring itself can load it by its path without
importing the package: :mod:`cascade_clip.analysis.onnx_benchmark_worker`,
and ``python memory.py REPORT SCRIPT [ARGS ...]``, which runs a Python
script in its own process and writes that process's peak RSS in bytes
into the file ``REPORT`` (:func:`script_peak_rss_bytes`).
"""
import ctypes
import os.path as osp
import resource
import sys
from contextlib import contextmanager
from typing import Dict, Iterator, Optional, Sequence

MIB = 2**20
CPU_KIND = 'process resident memory, its peak (VmHWM)'
CUDA_KIND = 'torch.cuda.max_memory_allocated'


def _status_bytes(field: str) -> Optional[int]:
    """A ``kB`` field of ``/proc/self/status`` in bytes (Linux), else
    ``None``."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def peak_rss_bytes() -> int:
    """This process's peak RSS: ``VmHWM``, else ``ru_maxrss``."""
    peak = _status_bytes('VmHWM')
    if peak is not None:
        return peak
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # kilobytes on Linux, bytes on macOS
    return maxrss if sys.platform == 'darwin' else maxrss * 1024


def _reset_peak_rss() -> bool:
    """Sets ``VmHWM`` to the RSS now; whether that could be done."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


def return_free_memory() -> None:
    """Gives the memory the C allocator holds but does not use back to the
    system (glibc's ``malloc_trim``; nothing elsewhere)."""
    try:
        # the symbols the process has loaded, libc's among them (no search
        # for the library file, which find_library does with a subprocess)
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError, TypeError):
        pass


def _device_type(device) -> str:
    return getattr(device, 'type', str(device).split(':')[0])


@contextmanager
def peak_memory(device='cpu') -> Iterator[Dict[str, Optional[float]]]:
    """The peak memory of the block (see the module's docstring), filled in
    when the block ends.

    Args:
        device: ``'cpu'``, a CUDA device, or a ``torch.device``.

    Yields:
        A dict: ``peak_mib`` (the most in use at once in the block),
        ``start_mib`` (in use when it began), ``above_start_mib`` (the
        difference) and ``kind`` (what was measured); the numbers ``None``
        where unknown.
    """
    result: Dict[str, Optional[float]] = dict(
        peak_mib=None, start_mib=None, above_start_mib=None)
    if _device_type(device) == 'cuda':
        import torch
        result['kind'] = CUDA_KIND
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        start = torch.cuda.memory_allocated(device)
        yield result
        torch.cuda.synchronize(device)
        peak = torch.cuda.max_memory_allocated(device)
    else:
        result['kind'] = CPU_KIND
        return_free_memory()
        # just reset, the high-water mark is the resident memory now
        start = _status_bytes('VmHWM') if _reset_peak_rss() else None
        if start is None:
            yield result
            return
        yield result
        peak = _status_bytes('VmHWM')
    result.update(
        peak_mib=peak / MIB,
        start_mib=start / MIB,
        above_start_mib=(peak - start) / MIB)


def script_peak_rss_bytes(script: str,
                          args: Sequence[str] = (),
                          python: str = sys.executable,
                          **kwargs) -> int:
    """Runs the Python ``script`` with ``args`` in a fresh process and
    returns that process's peak RSS (imports included).

    Args:
        script: A Python file, run as ``python SCRIPT ARGS`` runs it.
        args: Its command-line arguments.
        python: The interpreter.
        kwargs: For ``subprocess.run`` (e.g. ``capture_output``).

    Raises:
        subprocess.CalledProcessError: the script failed (its output, if
            captured, in the error).
    """
    import subprocess
    import tempfile
    with tempfile.TemporaryDirectory(prefix='peak_rss_') as folder:
        report = osp.join(folder, 'peak_rss')
        subprocess.run(
            [python, osp.abspath(__file__), report, script, *args],
            check=True,
            **kwargs)
        with open(report) as f:
            return int(f.read())


def free_memory_bytes(device='cpu') -> Optional[int]:
    """Memory free on ``device`` now: CUDA's free memory, or the system's
    available memory (Linux's ``MemAvailable``); ``None`` where unknown."""
    if _device_type(device) == 'cuda':
        import torch
        return torch.cuda.mem_get_info(device)[0]
    try:
        with open('/proc/meminfo') as f:
            for line in f:
                if line.startswith('MemAvailable:'):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _run_script(argv: Sequence[str]) -> None:
    """``REPORT SCRIPT [ARGS ...]``: runs ``SCRIPT`` here as ``python
    SCRIPT ARGS`` would, then writes this process's peak RSS into
    ``REPORT`` (also when the script exits with an error)."""
    import runpy
    report, script, *args = argv
    sys.argv = [script, *args]
    sys.path[0] = osp.dirname(osp.abspath(script))
    try:
        runpy.run_path(script, run_name='__main__')
    finally:
        with open(report, 'w') as f:
            f.write(str(peak_rss_bytes()))


if __name__ == '__main__':
    _run_script(sys.argv[1:])
