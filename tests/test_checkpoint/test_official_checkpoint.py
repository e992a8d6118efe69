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

from cascade_clip.checkpoint import (convert_official_state_dict,
                                     model_config_from_official)


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
    run = subprocess.run([
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


# The paper's decoder layer names, written out from docs/method.md §4.4
# (norm2 follows the cross-attention, norm3 the FFN; self_attn and norm1 are
# never used), independently of the converter's patterns.
UNUSED_PARTS = ('self_attn.in_proj_weight', 'self_attn.in_proj_bias',
                'self_attn.out_proj.weight', 'self_attn.out_proj.bias',
                'norm1.weight', 'norm1.bias')
LAYER_PARTS = {
    **{
        f'multihead_attn.{p}.{t}': f'cross_attn.{p}.{t}'
        for p in ('q', 'k', 'v', 'proj')
        for t in ('weight', 'bias')
    },
    'norm2.weight': 'norm_attn.weight',
    'norm2.bias': 'norm_attn.bias',
    'norm3.weight': 'norm_ffn.weight',
    'norm3.bias': 'norm_ffn.bias',
    **{
        f'linear{i}.{t}': f'linear{i}.{t}'
        for i in (1, 2)
        for t in ('weight', 'bias')
    },
    **{
        part: None
        for part in UNUSED_PARTS
    },
}


def expected_name(key):
    """Our name of a key of the paper's checkpoints (None: dropped)."""
    if key == 'decode_head.loss_decode.criterion.empty_weight':
        return None
    if key.startswith('decode_head.weights_s'):
        return f'decode_head.nga_weights.{int(key[-1]) - 1}'
    prefix = 'decode_head.cascade_decoders.'
    if key.startswith(prefix):
        decoder, _, layer, part = key[len(prefix):].split('.', 3)
        renamed = LAYER_PARTS[part]
        return renamed and f'decode_head.decoders.{decoder}.layers.{layer}.' \
            f'{renamed}'
    return key  # backbone, text encoder, q_projs: the same names


def test_converter_renames_as_an_independent_key_table(golden_case):
    state_dict = torch.load(
        golden_case + '.checkpoint.pth', weights_only=True)['state_dict']
    converted, dropped = convert_official_state_dict(state_dict)
    expected = {key: expected_name(key) for key in state_dict}
    assert sorted(dropped) == sorted(k for k, v in expected.items() if not v)
    assert set(converted) == {v for v in expected.values() if v}
    for key, ours in expected.items():
        if ours:
            assert converted[ours] is state_dict[key], key
    assert any('norm3' in k for k in state_dict)  # the table was exercised
