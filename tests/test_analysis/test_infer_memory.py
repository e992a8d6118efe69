"""Memory of tools/infer.py on a big photo does not grow with the number
of classes (the README's measurement, at a smaller size): the labels are
taken in blocks of classes, never from every class's scores at full
size (300 x 1000 x 1500 floats: 1.7 GiB)."""
import subprocess
import sys

from conftest import REPO
from tools_helpers import _environment


def test_peak_memory_does_not_grow_with_the_classes(tmp_path):
    result = subprocess.run([
        sys.executable, f'{REPO}/tools/infer_memory.py', '--size', '1000',
        '1500', '--classes', '3', '300', '--work-dir',
        str(tmp_path)
    ],
                            capture_output=True,
                            text=True,
                            env=_environment(),
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith('machine: ') and 'cores' in lines[0]
    rows = [line.split() for line in lines[3:]]
    peaks = {int(k): float(mib.replace(',', '')) for k, mib in rows}
    assert set(peaks) == {3, 300}
    full_size_scores = 297 * 1000 * 1500 * 4 / 2**20  # 1,700 MiB
    assert peaks[300] - peaks[3] < 300 < full_size_scores / 4, peaks


def test_train_and_test_runs_keep_only_the_labels(tmp_path):
    """tools/train.py's validations and tools/test.py take the labels in
    bounded memory too (their metric needs no scores)."""
    from tools_helpers import VOC_INDUCTIVE, write_checkpoint

    from cascade_clip.apis import test_config, train_config
    checkpoint = write_checkpoint(VOC_INDUCTIVE, str(tmp_path / 'm.pth'))
    for cfg in (train_config(VOC_INDUCTIVE),
                test_config(VOC_INDUCTIVE, checkpoint)):
        assert cfg.model.test_cfg.keep_seg_logits is False
        assert cfg.model.test_cfg.stride == (48, 48)  # the rest kept
