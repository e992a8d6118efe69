"""The unlabelled rule on hand-made score maps: a threshold's edges, an image
that is all unlabelled, a distractor winning a pixel, and what the pictures
and the shares make of unlabelled pixels; through the runtime's
``Segmenter`` with a backend whose scores are written here."""
import numpy as np
import pytest
from PIL import Image

from cascade_clip_runtime.classes import parse_distractors
from cascade_clip_runtime.cli import shares_line
from cascade_clip_runtime.drawing import (class_colours, colorize,
                                          draw_overlay, legend_by_area,
                                          write_label_png)
from cascade_clip_runtime.scores import NUMPY, UNLABELLED, unlabel
from cascade_clip_runtime.segmenter import Backend, Segmenter

LISTS = {'things': ['cat', 'dog', 'sky', 'road']}


class HandMade(Backend):
    """Scores written by hand: ``probabilities[name]`` is an ``(H, W)`` map
    of a class's sigmoid; the scores are it minus the seen shift."""

    ops = NUMPY
    class_lists = LISTS

    def __init__(self, probabilities, seen_score_shift=0.1):
        self.probabilities = probabilities
        self.seen_score_shift = seen_score_shift
        self.used = None

    def use_classes(self, class_names, templates, unseen):
        self.used = list(class_names)
        self.shift = [
            0.0 if n in unseen else self.seen_score_shift for n in class_names
        ]

    def prepare(self, image, source):
        inputs = image.astype(np.float32).transpose(2, 0, 1)[None]
        return inputs, (0, 0, 0, 0)

    def window_scores(self, windows):
        maps = [
            self.probabilities[name] - shift
            for name, shift in zip(self.used, self.shift)
        ]
        return np.stack(maps)[None].astype(np.float32)


def probabilities():
    """Four columns of a 2 x 4 image: cat 0.6, cat 0.3, dog 0.3 (a tie at
    0.3 broken by dog's 0.31 in row 1), and where the distractor wins."""
    cat = np.array([[0.6, 0.3, 0.2, 0.1], [0.6, 0.3, 0.2, 0.1]])
    dog = np.array([[0.1, 0.2, 0.3, 0.1], [0.1, 0.2, 0.31, 0.1]])
    sky = np.array([[0.0, 0.0, 0.0, 0.9], [0.0, 0.0, 0.0, 0.9]])
    return dict(cat=cat, dog=dog, sky=sky, road=np.zeros((2, 4)))


@pytest.fixture
def segmenter():
    return Segmenter(HandMade(probabilities()))


IMAGE = np.zeros((2, 4, 3), np.uint8)


def test_off_by_default_every_pixel_takes_a_class(segmenter):
    result = segmenter(IMAGE, ['cat', 'dog'])
    assert result.unlabelled is None
    assert result.labels.tolist() == [[0, 0, 1, 0], [0, 0, 1, 0]]
    assert sum(result.shares.values()) == pytest.approx(1.0)


def test_a_threshold_s_edges(segmenter):
    """A pixel exactly at the threshold keeps its class; the probability
    is the score plus the seen shift; 0 leaves every pixel labelled."""
    at = segmenter(IMAGE, ['cat', 'dog'], threshold=0.3)
    assert at.labels.tolist() == [[0, 0, 1, -1], [0, 0, 1, -1]]
    assert at.unlabelled == pytest.approx(0.25)
    above = segmenter(IMAGE, ['cat', 'dog'], threshold=0.305)
    assert above.labels.tolist() == [[0, -1, -1, -1], [0, -1, 1, -1]]
    assert above.shares == {'cat': 0.25, 'dog': 0.125}
    assert above.unlabelled == pytest.approx(0.625)
    zero = segmenter(IMAGE, ['cat', 'dog'], threshold=0.0)
    assert (zero.labels >= 0).all() and zero.unlabelled == 0.0
    # an unseen class keeps no shift: its probability is its score
    unseen = segmenter(IMAGE, ['cat', 'dog'], unseen=['dog'], threshold=0.3)
    assert unseen.labels[:, 2].tolist() == [1, 1]


def test_an_image_that_is_all_unlabelled(segmenter):
    result = segmenter(IMAGE, ['cat', 'dog'], threshold=1.0)
    assert (result.labels == UNLABELLED).all()
    assert result.unlabelled == 1.0
    assert set(result.shares.values()) == {0.0}
    assert legend_by_area(
        result.shares, class_colours(2),
        unlabelled=1.0) == [('unlabelled: 100.0%', None)]


def test_a_distractor_winning_a_pixel(segmenter):
    result = segmenter(IMAGE, ['cat', 'dog'], distractors='sky,')
    assert segmenter.backend.used == ['cat', 'dog', 'sky']
    assert result.labels.tolist() == [[0, 0, 1, -1], [0, 0, 1, -1]]
    assert result.class_names == ['cat', 'dog']
    assert result.shares == {'cat': 0.5, 'dog': 0.25}
    assert result.unlabelled == 0.25
    # a class list as distractors, the given names left out of it; with a
    # threshold too
    both = segmenter(
        IMAGE, ['cat', 'dog'], distractors='things', threshold=0.5)
    assert segmenter.backend.used == ['cat', 'dog', 'sky', 'road']
    assert both.labels.tolist() == [[0, -1, -1, -1], [0, -1, -1, -1]]


def test_the_rule_on_score_maps_directly():
    labels = np.array([[0, 1, 2], [1, 0, 2]])
    best = np.array([[0.5, 0.1, 0.9], [0.2, 0.19, 0.8]], np.float32)
    shift = np.array([0.1, 0.1, 0.1], np.float32)
    out = unlabel(labels.copy(), best, shift, 2, threshold=0.3)
    assert out.tolist() == [[0, -1, -1], [1, -1, -1]]  # 0.2 + 0.1 kept
    assert unlabel(labels.copy(), best, shift, 3).tolist() == labels.tolist()


def test_distractors_a_person_gets_wrong():
    assert parse_distractors('things', LISTS,
                             ['cat']) == ['dog', 'sky', 'road']
    assert parse_distractors('sky, wall', LISTS, ['cat']) == ['sky', 'wall']
    assert parse_distractors(None, LISTS, ['cat']) == []
    with pytest.raises(ValueError, match=r"distractors \['cat'\] are class"):
        parse_distractors('cat, wall', LISTS, ['cat', 'dog'])
    with pytest.raises(ValueError, match="'thing': no such class list"):
        parse_distractors('thing', LISTS, ['cat'])


@pytest.mark.parametrize('threshold', [-0.1, 1.5, float('nan')])
def test_a_threshold_outside_0_and_1_is_refused(segmenter, threshold):
    with pytest.raises(ValueError, match='give a probability from 0 to 1'):
        segmenter(IMAGE, ['cat', 'dog'], threshold=threshold)


def test_pictures_leave_unlabelled_pixels_uncoloured(tmp_path):
    labels = np.array([[0, -1], [1, -1]])
    colours = np.array([[255, 0, 0], [0, 255, 0]], np.uint8)
    image = np.full((2, 2, 3), 77, np.uint8)
    assert colorize(labels, colours)[:, 1].tolist() == [[0, 0, 0]] * 2
    overlay = draw_overlay(image, labels, [], colours)
    assert (overlay[:2, 1] == 77).all()  # the image as it is
    assert (overlay[0, 0] != 77).any()
    path = write_label_png(labels, colours, str(tmp_path / 'l.png'))
    assert np.asarray(Image.open(path)).tolist() == [[0, 255], [1, 255]]
    many = write_label_png(labels, class_colours(300), str(tmp_path / 'm.png'))
    assert np.asarray(Image.open(many)).tolist() == [[0, 65535], [1, 65535]]
    assert shares_line({'cat': 0.5}, 0.25) == 'cat 50.0%, unlabelled 25.0%'
    assert shares_line({'cat': 0.5}) == 'cat 50.0%'
