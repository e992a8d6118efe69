"""Converting and loading checkpoints of the paper's implementation."""
import logging
import os.path as osp
import subprocess
import sys

import pytest
import torch
from conftest import REPO
from mmengine.logging import MMLogger
from mmengine.runner.checkpoint import load_checkpoint
from mmseg.registry import MODELS

from cascade_clip.checkpoint import model_config_from_official



@pytest.fixture
def build(golden_case):
    data = torch.load(golden_case + '.pt', weights_only=True)

    def build_model():
        return MODELS.build(
            model_config_from_official(
                data['official_model_cfg'],
                text_embeddings=golden_case + '.text_embedding.npy'))

    return build_model


def test_converter_tool_output_loads_like_the_original(tmp_path, build,
                                                       golden_case):
    dst = str(tmp_path / 'converted.pth')
    run = subprocess.run(
        [
            sys.executable,
            osp.join(REPO, 'tools', 'convert_official_checkpoint.py'),
            golden_case + '.checkpoint.pth', dst
        ],
        capture_output=True,
        text=True,
        check=True)
    assert 'dropped' in run.stdout
    converted = torch.load(dst, weights_only=True)
    keys = converted['state_dict'].keys()
    assert not [k for k in keys if 'self_attn' in k or 'norm1' in k]
    assert 'decode_head.loss_decode.criterion.empty_weight' not in keys

    direct, via_tool = build(), build()
    load_checkpoint(direct, golden_case + '.checkpoint.pth', strict=True)
    load_checkpoint(via_tool, dst, strict=True)
    for (name, a), b in zip(direct.state_dict().items(),
                            via_tool.state_dict().values()):
        assert torch.equal(a, b), name


def test_unused_tensors_are_dropped_with_one_log_line(build, golden_case):
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        load_checkpoint(build(), golden_case + '.checkpoint.pth', strict=True)
    finally:
        logger.removeHandler(handler)
    dropped = [r.getMessage() for r in records if 'dropped' in r.getMessage()]
    assert len(dropped) == 1
    assert 'self_attn' in dropped[0]


@pytest.mark.parametrize('change', ['unknown', 'missing'])
def test_unknown_or_missing_keys_are_named(tmp_path, change, build,
                                           golden_case):
    checkpoint = torch.load(golden_case + '.checkpoint.pth', weights_only=True)
    state_dict = checkpoint['state_dict']
    if change == 'unknown':
        state_dict['decode_head.extra_bias'] = torch.zeros(3)
        name = 'decode_head.extra_bias'
    else:
        del state_dict['decode_head.q_projs.1.bias']
        name = 'decode_head.q_projs.1.bias'
    path = str(tmp_path / 'edited.pth')
    torch.save(checkpoint, path)
    with pytest.raises(KeyError, match=name.replace('.', r'\.')):
        load_checkpoint(build(), path)


def test_converting_a_converted_checkpoint_is_refused(tmp_path, golden_case):
    from cascade_clip.checkpoint import convert_official_checkpoint
    dst = str(tmp_path / 'converted.pth')
    convert_official_checkpoint(golden_case + '.checkpoint.pth', dst)
    with pytest.raises(ValueError, match='not a checkpoint of the paper'):
        convert_official_checkpoint(dst, str(tmp_path / 'again.pth'))
