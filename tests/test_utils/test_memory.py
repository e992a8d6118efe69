"""cascade_clip.utils.memory: the peak of a block is its own (not an
earlier block's), a script's peak is its own process's (not the process
that starts it), and the file loads without the package."""
import os.path as osp
import subprocess
import sys

import pytest
from conftest import REPO

from cascade_clip.utils.memory import (CPU_KIND, free_memory_bytes,
                                       peak_memory, peak_rss_bytes,
                                       script_peak_rss_bytes)

MIB = 2**20
LINUX = pytest.mark.skipif(
    not sys.platform.startswith('linux'),
    reason='VmHWM and MemAvailable are Linux\'s')


def touched(mib: int) -> bytearray:
    """``mib`` MiB, every page written (so resident)."""
    block = bytearray(mib * MIB)
    block[::4096] = b'x' * len(range(0, len(block), 4096))
    return block


@LINUX
def test_a_block_measures_its_own_peak():
    big = touched(200)  # a higher peak before the block
    del big
    earlier = peak_rss_bytes() / MIB
    with peak_memory('cpu') as memory:
        held = touched(40)
        del held
    assert memory['kind'] == CPU_KIND
    # the kernel's counts of resident pages lag by a few pages per thread
    assert 40 - 1 <= memory['above_start_mib'] < 40 + 30, memory
    assert memory['peak_mib'] == pytest.approx(memory['start_mib'] +
                                               memory['above_start_mib'])
    assert memory['peak_mib'] < earlier - 100  # not the earlier peak
    with peak_memory('cpu') as idle:
        pass
    assert idle['above_start_mib'] < 10, idle


@LINUX
def test_a_script_peak_is_its_own_process(tmp_path):
    """The script runs as ``python SCRIPT ARGS`` runs it; the test's own
    process (torch and mmseg imported, hundreds of MiB) is not counted."""
    script = tmp_path / 'allocate.py'
    script.write_text(
        'import sys\n'
        'assert __name__ == "__main__"\n'
        'assert sys.argv[1:] == ["--mib", "150"], sys.argv\n'
        'block = bytearray(150 * 2**20)\n'
        'block[::4096] = b"x" * len(range(0, len(block), 4096))\n')
    assert peak_rss_bytes() / MIB > 300  # the test process is big
    peak = script_peak_rss_bytes(str(script), ['--mib', '150']) / MIB
    assert 150 <= peak < 150 + 60, peak
    small = tmp_path / 'small.py'
    small.write_text('print("hello")\n')
    assert script_peak_rss_bytes(str(small), capture_output=True) / MIB < 60
    failing = tmp_path / 'failing.py'
    failing.write_text('raise SystemExit(3)\n')
    with pytest.raises(subprocess.CalledProcessError) as error:
        script_peak_rss_bytes(str(failing))
    assert error.value.returncode == 3


@LINUX
def test_free_memory_is_the_systems_available_memory():
    with open('/proc/meminfo') as f:
        total = int(f.readline().split()[1]) * 1024
    assert 0 < free_memory_bytes('cpu') <= total


def test_the_file_loads_without_the_package_or_torch():
    """As the ONNX benchmark's worker loads it: by its path."""
    path = osp.join(REPO, 'cascade_clip', 'utils', 'memory.py')
    code = ('import importlib.util, sys\n'
            f'spec = importlib.util.spec_from_file_location("m", {path!r})\n'
            'module = importlib.util.module_from_spec(spec)\n'
            'spec.loader.exec_module(module)\n'
            'assert module.peak_rss_bytes() > 0\n'
            'print(sorted(m for m in ("torch", "numpy", "cascade_clip") '
            'if m in sys.modules))')
    result = subprocess.run([sys.executable, '-c', code],
                            capture_output=True,
                            text=True,
                            check=True)
    assert result.stdout == '[]\n'
