"""The stage rule: which blocks feed the cascade at depths other than
ViT-B/16's 12 (docs/method.md §8)."""
import pytest
from module_helpers import build_part

from cascade_clip.models.backbones.cascade_layout import (PAPER_OUT_INDICES,
                                                          cascade_out_indices,
                                                          cascade_prompt_depth)


@pytest.mark.parametrize('rule', ['proportional', 'last'])
def test_both_rules_give_the_papers_blocks_at_12(rule):
    assert cascade_out_indices(
        12, rule) == PAPER_OUT_INDICES == (5, 6, 7, 8, 9, 10)
    assert cascade_prompt_depth(12) == 11


def test_24_blocks():
    # each block at the paper's relative depth: blocks 6-11 of 12 (1-based)
    # are the 12th to 22nd of 24, every other one
    assert cascade_out_indices(24) == (11, 13, 15, 17, 19, 21)
    # each at the paper's distance to the last block
    assert cascade_out_indices(24, 'last') == (17, 18, 19, 20, 21, 22)
    assert cascade_prompt_depth(24) == 23
    # ViT-H/14's 32 blocks
    assert cascade_out_indices(32) == (15, 18, 20, 23, 26, 28)


def test_a_depth_the_rule_cannot_serve():
    with pytest.raises(ValueError) as info:
        cascade_out_indices(6)
    assert str(info.value) == (
        'the stage rule \'proportional\' gives blocks [2, 3, 3, 4, 4, 5] for '
        'a 6-block transformer (distinct blocks before the last are needed): '
        'give the blocks as a list in out_indices')
    with pytest.raises(ValueError, match='must be one of'):
        cascade_out_indices(24, 'middle')


def test_the_encoder_takes_a_rule_by_name():
    backbone = build_part(
        'backbone', layers=24, out_indices='proportional', prompt_depth=None)
    assert backbone.out_indices == (11, 13, 15, 17, 19, 21)
    assert backbone.prompt_depth == 23
    assert backbone.deep_prompt_embeddings.shape[0] == 23
    assert len(backbone.ln_layers) == backbone.proj_layers.shape[0] == 6
    backbone = build_part('backbone', layers=24, out_indices='last')
    assert backbone.out_indices == (17, 18, 19, 20, 21, 22)
    with pytest.raises(ValueError, match='out_indices must be a list'):
        build_part('backbone', out_indices='deepest')
