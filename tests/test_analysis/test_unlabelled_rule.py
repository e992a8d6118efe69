"""The measurement of the unlabelled rule (tools/unlabelled_rule.py): its
counts against a hand computation, and its extremes with the shipped shapes
model (no rule: no background pixel unnamed; a threshold of 1: all)."""
import numpy as np
import pytest
from PIL import Image

from cascade_clip.analysis.unlabelled_rule import (RuleMeasurement,
                                                   ShapeScores,
                                                   format_rule_table,
                                                   measure_approach, plot_rule)
from cascade_clip.apis.inference import OpenVocabularySegmenter
from cascade_clip.synthetic.web_model import SHIPPED_MODEL
from cascade_clip.synthetic.world import CLASSES, UNSEEN, render_scene


def test_counts_against_a_hand_computation():
    seen = next(k for k in range(20) if k not in UNSEEN)
    unseen = UNSEEN[0]
    # raw labels: 0 background, 1 + class on a shape
    truth = np.array([[0, 0, 1 + seen, 1 + seen],
                      [0, 1 + unseen, 1 + unseen, 1 + seen]])
    predicted = np.array([[-1, seen, seen, -1], [-1, unseen, seen, seen]])
    scores = ShapeScores()
    scores.add(truth, predicted)
    result = scores.result('x', 'shapes20', 0.1)
    assert result.background_unnamed == pytest.approx(100 * 2 / 3)
    assert result.shapes_kept == pytest.approx(100 * 3 / 5)
    # seen: tp 2, fp 1 (an unseen pixel), fn 1 (unlabelled): IoU 2/4;
    # unseen: tp 1, fn 1: IoU 1/2; the background's pixels count nowhere
    assert result.miou_seen == pytest.approx(50.0)
    assert result.miou_unseen == pytest.approx(50.0)
    assert result.hiou == pytest.approx(50.0)


@pytest.fixture(scope='module')
def scenes(tmp_path_factory):
    root = tmp_path_factory.mktemp('scenes')
    rng = np.random.default_rng(3)
    found = []
    for i in range(3):
        image, label = render_scene(rng, [0, 6, 11])  # unseen, 2 seen
        path = str(root / f'scene{i}.jpg')
        Image.fromarray(image).save(path, quality=95)
        found.append((path, label))
    return found


def test_the_extremes_with_the_shipped_model(scenes, tmp_path):
    segmenter = OpenVocabularySegmenter(SHIPPED_MODEL, device='cpu')
    none = measure_approach(segmenter, scenes, CLASSES, 'none', 'shapes20')
    assert none.background_unnamed == 0.0 and none.shapes_kept > 30
    everything = measure_approach(segmenter, scenes, CLASSES, 'threshold',
                                  'shapes20', 1.0)
    assert everything.background_unnamed == 100.0
    assert everything.shapes_kept == 0.0 and everything.hiou == 0.0
    named = measure_approach(segmenter, scenes,
                             list(CLASSES) + ['background'], 'class name',
                             'shapes20')
    assert named.shapes_kept <= none.shapes_kept
    measurement = RuleMeasurement(3, [none, everything, named])
    table = format_rule_table(measurement)
    assert table.count('\n') == 4 and '| shapes20 | threshold | 1 |' in table
    assert plot_rule(measurement, str(tmp_path / 'rule.png'))
    assert Image.open(tmp_path / 'rule.png').size[0] > 500
