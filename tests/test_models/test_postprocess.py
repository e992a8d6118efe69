"""Labels at the original size from scores at the model's size, in blocks of
classes (the runtime's steps with torch tensors): the same labels as
resizing every class at once, bounded memory."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.models.segmentors import BaseSegmentor
from mmseg.structures import SegDataSample

from cascade_clip.models.segmentors import TorchOps
from cascade_clip.models.segmentors.postprocess import scores_to_samples
from cascade_clip_runtime.scores import resized_argmax as runtime_argmax


def resized_argmax(scores, size, align_corners, block):
    best, labels = runtime_argmax(scores, size, TorchOps(align_corners), block)
    # (a block's resize may round apart from the whole's in the last bit)
    torch.testing.assert_close(
        best,
        scores_at(labels, scores, size, align_corners),
        rtol=0,
        atol=1e-6,
        equal_nan=True)
    return labels


def scores_at(labels, scores, size, align_corners):
    """The resized scores of the classes ``labels`` name."""
    resized = F.interpolate(
        scores, size=size, mode='bilinear', align_corners=align_corners)
    return resized.gather(1, labels[:, None])[:, 0]


def full_argmax(scores, size, align_corners=False):
    return F.interpolate(
        scores, size=size, mode='bilinear',
        align_corners=align_corners).argmax(1)


@pytest.mark.parametrize('shape', [(7, 9, 31, 45), (16, 21, 64, 85),
                                   (5, 6, 3, 4), (8, 8, 8, 8)])
@pytest.mark.parametrize('align_corners', [False, True])
def test_blocks_of_classes_give_the_full_resize_argmax(shape, align_corners):
    h, w, height, width = shape
    torch.manual_seed(0)
    scores = torch.randn(2, 13, h, w)
    plane = 2 * height * width
    expected = full_argmax(scores, (height, width), align_corners)
    # one class a time, blocks that do and do not divide K, all at once
    for block in (1, plane, 2 * plane, 3 * plane + 1, 5 * plane, 10**9):
        labels = resized_argmax(scores, (height, width), align_corners, block)
        assert labels.dtype == torch.int64
        assert torch.equal(labels, expected), block


def test_ties_and_nans_across_block_boundaries():
    """Equal scores in different blocks keep the first class, as argmax
    does; a NaN wins over numbers, also from a later block."""
    scores = torch.zeros(1, 6, 4, 5)
    scores[:, 5] = scores[:, 2] = 1.0  # a tie between blocks 1 and 2
    scores[:, 3, 0, 0] = 2.0
    scores[:, 4, 1, 1] = float('nan')
    scores[:, 0, 1, 1] = 5.0
    plane = 4 * 5
    given = scores.clone()
    expected = scores.argmax(1)
    assert expected[0, 1, 1] == 4 and expected[0, 2, 2] == 2
    for block in (plane, 2 * plane, 4 * plane):
        assert torch.equal(
            resized_argmax(scores, (4, 5), False, block), expected)
    assert torch.equal(scores.nan_to_num(-1.0), given.nan_to_num(-1.0))
    assert scores.isnan().any()  # the NaN is still there: nothing written


def samples(metas):
    result = []
    for meta in metas:
        sample = SegDataSample()
        sample.set_metainfo(meta)
        result.append(sample)
    return result


class _MMSeg(BaseSegmentor):
    """mmseg's own ``postprocess_result``, the reference."""

    def __init__(self):
        super().__init__()
        self.align_corners = False

    def extract_feat(self, inputs):
        pass

    def encode_decode(self, inputs, batch_data_samples):
        pass

    def loss(self, inputs, data_samples):
        pass

    def predict(self, inputs, data_samples=None):
        pass

    def _forward(self, inputs, data_samples=None):
        pass


def test_samples_match_mmseg_with_padding_and_flips():
    torch.manual_seed(1)
    scores = torch.randn(3, 7, 12, 16)
    metas = [
        dict(ori_shape=(40, 50), padding_size=[0, 2, 0, 1]),
        dict(
            ori_shape=(25, 33),
            img_padding_size=[1, 0, 2, 0],
            flip=True,
            flip_direction='horizontal'),
        dict(ori_shape=(12, 16), flip=True, flip_direction='vertical'),
    ]
    reference = _MMSeg().postprocess_result(scores.clone(), samples(metas))
    kept = scores_to_samples(scores.clone(), samples(metas))
    labels_only = scores_to_samples(
        scores.clone(),
        samples(metas),
        keep_seg_logits=False,
        block_elements=40 * 50)  # one class at a time for the first image
    for ref, full, lean in zip(reference, kept, labels_only):
        assert torch.equal(full.seg_logits.data, ref.seg_logits.data)
        assert torch.equal(full.pred_sem_seg.data, ref.pred_sem_seg.data)
        assert torch.equal(lean.pred_sem_seg.data, ref.pred_sem_seg.data)
        assert 'seg_logits' not in lean
    assert reference[0].pred_sem_seg.data.shape == (1, 40, 50)


def test_without_samples_the_scores_are_taken_at_their_size():
    scores = torch.randn(2, 4, 6, 7)
    for keep in (True, False):
        results = scores_to_samples(scores, None, keep_seg_logits=keep)
        for result, one in zip(results, scores):
            assert torch.equal(result.pred_sem_seg.data[0], one.argmax(0))
            assert ('seg_logits' in result) == keep
    assert isinstance(results[0].pred_sem_seg, PixelData)


def test_the_segmentor_keeps_only_labels_when_told(monkeypatch):
    """``test_cfg['keep_seg_logits']=False``: the same labels as with the
    scores kept, here taken one class at a time."""
    from mmseg.registry import MODELS

    from cascade_clip.testing import tiny_model_config
    from cascade_clip_runtime import scores
    torch.manual_seed(0)
    model = MODELS.build(tiny_model_config()).eval()
    image = torch.randn(1, 3, 48, 80)
    meta = dict(
        ori_shape=(150, 250),
        img_shape=(48, 80),
        pad_shape=(48, 80),
        padding_size=[0, 0, 0, 0])
    with torch.no_grad():
        [kept] = model(image, samples([meta]), mode='predict')
        model.test_cfg['keep_seg_logits'] = False
        monkeypatch.setattr(scores, 'RESIZE_BLOCK_ELEMENTS', 150 * 250)
        [lean] = model(image, samples([meta]), mode='predict')
    assert kept.seg_logits.data.shape == (20, 150, 250)
    assert 'seg_logits' not in lean
    assert torch.equal(lean.pred_sem_seg.data, kept.pred_sem_seg.data)
    assert len(kept.pred_sem_seg.data.unique()) > 1
