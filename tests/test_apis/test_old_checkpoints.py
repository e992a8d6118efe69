"""A checkpoint written before the one inference path, with its stored
config, still loads and labels the web demo's scenes as the code that wrote
it did (tests/data/old_checkpoint/README.md); the paper's checkpoints are
the golden parity tests'."""
import os.path as osp

import numpy as np
from conftest import REPO

from cascade_clip.apis.inference import OpenVocabularySegmenter
from cascade_clip.synthetic.web_model import example_scene
from cascade_clip.synthetic.world import CLASSES

OLD = osp.join(REPO, 'tests', 'data', 'old_checkpoint')


def test_a_checkpoint_of_before_labels_as_it_did():
    segmenter = OpenVocabularySegmenter(
        osp.join(OLD, 'shapes20_web_model_78d3a65.pth'), device='cpu')
    recorded = np.load(osp.join(OLD, 'labels_78d3a65.npy'))
    for index, expected in enumerate(recorded):
        image, _ = example_scene(index)
        labels = segmenter(image, list(CLASSES), 'single').labels
        np.testing.assert_array_equal(labels, expected)
