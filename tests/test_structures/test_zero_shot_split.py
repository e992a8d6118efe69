"""ZeroShotSplit: the one place class ids are checked, for the model and the
metric alike."""
import pytest

from cascade_clip.structures import ZERO_SHOT_SPLITS, ZeroShotSplit


def test_a_setting_brings_its_names_and_unseen_classes():
    split = ZeroShotSplit.build('coco_stuff171')
    assert split.num_classes == 171
    assert split.unseen == ZERO_SHOT_SPLITS['coco_stuff171']['unseen']
    assert split.seen == tuple(i for i in range(171) if i not in split.unseen)
    assert split.class_names[19] == 'cow'  # COCO-Stuff's 20th class
    # cross-dataset: the same classes, all seen
    assert ZeroShotSplit.build(
        'voc20', unseen_classes=[]).seen == tuple(range(20))


def test_given_order_and_classes_in_neither_list():
    split = ZeroShotSplit.build(
        num_classes=5, seen_classes=[3, 0], unseen_classes=[4])
    assert split.seen == (3, 0)  # the head scores seen classes in this order
    assert split.class_names is None


@pytest.mark.parametrize('kwargs, match', [
    (dict(num_classes=4, seen_classes=[0, 1],
          unseen_classes=[1]), r'classes \[1\] are both seen and unseen'),
    (dict(num_classes=4, unseen_classes=[2, 2]), r'repeats class ids \[2\]'),
    (dict(num_classes=4, unseen_classes=[-1]), r'unseen_classes \[-1\]'),
    (dict(num_classes=4, unseen_classes=[3, 9]),
     r'unseen_classes \[9\] are not among the 4 classes'),
    (dict(class_names=['a', 'b'], num_classes=3), 'num_classes=3 but 2'),
    (dict(class_names='voc99'), 'neither a known setting'),
    (dict(), 'class_names or num_classes'),
])
def test_bad_splits(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ZeroShotSplit.build(**kwargs)
