"""tools/vocabulary_cost.py: the text embedding of a long class list is
computed once, not per image, and what grows with the number of classes is
measured."""
import os.path as osp
import sys

import pytest
from conftest import REPO
from tools_helpers import run_tool_here

from cascade_clip.analysis.vocabulary_cost import measure_vocabulary_cost

ADE847 = osp.join(REPO, 'configs', 'tiny',
                  'cascade-clip_tiny_coco-stuff171-to-ade20k847-64x64.py')


def test_847_classes_embedded_once_and_costs_measured():
    results = measure_vocabulary_cost(
        ADE847,
        class_counts=[21, 847],
        image_size=(64, 85),
        images=1,
        device='cpu')
    assert [r['classes'] for r in results] == [21, 847]
    for r in results:
        # the tiny config's one template: one prompt per class, embedded
        # once; segmenting images calls the text encoder no more
        assert r['prompts'] == r['classes']
        assert r['encoder_calls_during_images'] == 0
        assert r['embedding_s'] > 0 and r['seconds_per_image'] > 0
        assert r['score_map_mib'] == pytest.approx(r['classes'] * 64 * 85 * 4 /
                                                   2**20)
        if sys.platform == 'linux':
            # the image's score maps at least, also where an earlier image
            # freed as much (the allocator's free memory is returned first)
            assert r['peak_memory_mib'] >= r['score_map_mib'] > 0
    with pytest.raises(ValueError, match=r'\[900\]'):
        measure_vocabulary_cost(ADE847, class_counts=[900])


def test_command_line(tmp_path, monkeypatch, capsys):
    assert run_tool_here([
        'vocabulary_cost.py', ADE847, '--classes', '5', '--image-size', '32',
        '48', '--images', '1', '--device', 'cpu', '--cfg-options',
        'model.prompt_templates=multi'
    ], str(tmp_path), monkeypatch) == 0
    out = capsys.readouterr().out
    assert out.startswith('machine: ') and ' cores, ' in out.splitlines()[0]
    assert '| classes | prompts embedded once |' in out
    assert '\n| 5 | 75 | ' in out  # 5 classes x 15 templates
    assert out.rstrip().endswith('| 0 |')  # no encoder call while segmenting
