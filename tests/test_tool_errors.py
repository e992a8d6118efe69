"""The train/test tools' own errors, each fed its bad input."""
import pytest
import torch
from tools_helpers import VOC_INDUCTIVE, run_tool

from cascade_clip.apis import parse_eval, train_config
from cascade_clip.apis import test_config as make_test_config


def test_missing_config_is_named(tmp_path):
    missing = str(tmp_path / 'nope.py')
    with pytest.raises(FileNotFoundError, match='config file not found: .*'
                       'nope.py'):
        train_config(missing)


def test_missing_checkpoint_to_evaluate_is_named(tmp_path):
    missing = str(tmp_path / 'iter_80000.pth')
    with pytest.raises(FileNotFoundError, match='iter_80000.pth'):
        make_test_config(VOC_INDUCTIVE, missing)


def test_eval_accepts_only_miou():
    parse_eval(['mIoU'])
    parse_eval(None)
    with pytest.raises(ValueError, match='--eval mDice'):
        parse_eval(['mDice'])


@pytest.mark.skipif(torch.cuda.is_available(),
                    reason='the error is for machines without a GPU')
def test_amp_without_a_gpu_says_so(tmp_path):
    result = run_tool(['train.py', VOC_INDUCTIVE, '--amp'], str(tmp_path),
                      check=False)
    assert result.returncode != 0
    assert '--amp needs a CUDA GPU' in result.stderr
