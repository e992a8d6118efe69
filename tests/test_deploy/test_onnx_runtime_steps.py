"""The ONNX runtime's steps against the PyTorch path's, one at a time:
the tokenizer against mmseg's, the resize against OpenCV and the config's
test pipeline, the windows against the segmentor's, the resize back
against PyTorch's, the pictures against tools/infer.py's. None of them
needs onnxruntime."""
import cv2
import mmcv
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from deploy_helpers import RUNTIME
from mmcv.transforms import Compose
from mmengine.registry import init_default_scope
from mmseg.utils import tokenize
from mmseg.utils.tokenizer import default_bpe
from PIL import Image

from cascade_clip.deploy import onnx_runtime as runtime
from cascade_clip.deploy.export import resize_rule
from cascade_clip.models.segmentors import sliding_windows
from cascade_clip.models.text_embeddings import MULTI_TEMPLATES
from cascade_clip.structures import DATASET_CLASSES
from cascade_clip.visualization import (class_colours, draw_overlay,
                                        legend_by_area, pick_font)


@pytest.fixture(scope='module')
def tokenizer():
    return runtime.ClipTokenizer(default_bpe())


def test_the_runtime_is_the_packaged_file():
    assert runtime.__file__ == RUNTIME


def test_token_ids_are_mmseg_s(tokenizer):
    """Every class name of every dataset list in three templates, and texts
    that exercise the cleaning, the pattern and the byte map."""
    names = sorted({n for names in DATASET_CLASSES.values() for n in names})
    texts = [t.format(n) for n in names for t in MULTI_TEMPLATES[::5]]
    texts += [
        'Ünïcödé café', '猫 と 犬', 'emoji 🐱🐶', 'ﬁne ligature',
        '&amp;amp; &lt;b&gt;', '  spaced\t\nout  ', "it's, we'll, don't",
        'A <start_of_text> b <END_OF_TEXT>', 'hello-world_foo.bar 3.14',
        'x' * 300, 'y z ' * 60, ''
    ]
    expected = tokenize(texts, 77).numpy()
    assert (tokenizer(texts, 77, truncate=True) == expected).all()
    short = tokenizer(['a photo of a cat'], 8)
    assert (short == tokenize(['a photo of a cat'], 8).numpy()).all()


def test_a_text_over_the_context_length_is_an_error(tokenizer):
    long_name = 'very ' * 80 + 'long name'
    with pytest.raises(ValueError, match="tokens .* reads 77: shorten it"):
        tokenizer([f'a photo of a {long_name}'], 77)
    fits = 'word ' * 75  # 75 tokens + start + end
    assert tokenizer([fits], 77)[0, -1] == tokenizer.ids[tokenizer.END]


def test_images_are_read_as_mmcv_reads_them(tmp_path):
    """EXIF orientation applied; grey, RGBA and palette images to RGB."""
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (30, 50, 3), np.uint8).repeat(4, 0)
    turned = Image.fromarray(pixels)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees clockwise
    turned.save(tmp_path / 'turned.jpg', exif=exif, quality=95)
    Image.fromarray(pixels[..., 0]).save(tmp_path / 'grey.png')
    Image.fromarray(np.dstack([pixels, pixels[..., :1]]),
                    'RGBA').save(tmp_path / 'alpha.png')
    Image.fromarray(pixels).convert('P').save(tmp_path / 'palette.png')
    for name in ('turned.jpg', 'grey.png', 'alpha.png', 'palette.png'):
        path = str(tmp_path / name)
        expected = mmcv.imread(path, channel_order='rgb')
        actual = runtime.read_image(path)
        assert actual.shape == expected.shape, name
        assert (actual == expected).all(), name
    assert runtime.read_image(str(tmp_path / 'turned.jpg')).shape[:2] == (50,
                                                                          120)


@pytest.mark.parametrize('seed', range(3))
def test_resize_is_opencv_s_bit_for_bit(seed):
    rng = np.random.default_rng(seed)
    sizes = [(64, 85), (512, 683), (128, 170), (37, 41), (1, 9)]
    for _ in range(30):
        height, width = rng.integers(2, 700, 2)
        factor = rng.uniform(0.15, 4.0)
        sizes.append((max(1,
                          int(height * factor)), max(1, int(width * factor))))
    for out_h, out_w in sizes:
        src_h = int(rng.integers(1, 700))
        src_w = int(rng.integers(1, 700))
        if out_h == 128:  # OpenCV's exact halving
            src_h, src_w = 256, 340
        image = rng.integers(0, 256, (src_h, src_w, 3), np.uint8)
        expected = cv2.resize(
            image, (out_w, out_h), interpolation=cv2.INTER_LINEAR)
        actual = runtime.resize_uint8(image, out_h, out_w)
        assert actual.shape == expected.shape
        assert (actual == expected).all(), (src_h, src_w, out_h, out_w)


@pytest.mark.parametrize(
    'step', [
        dict(type='ResizeShortestEdge', scale=512, max_size=100000),
        dict(type='ResizeShortestEdge', scale=64, max_size=100),
        dict(type='Resize', scale=(2048, 512), keep_ratio=True),
        dict(type='Resize', scale=(300, 200), keep_ratio=False),
    ],
    ids=['shortest-edge', 'max-size', 'keep-ratio', 'fixed'])
def test_resized_sizes_are_the_test_pipeline_s(step):
    init_default_scope('mmseg')
    pipeline = Compose([step])
    rule = resize_rule(step)
    rng = np.random.default_rng(0)
    for _ in range(40):
        height, width = (int(s) for s in rng.integers(20, 3000, 2))
        image = np.zeros((height, width, 3), np.uint8)
        expected = pipeline(dict(img=image))['img'].shape[:2]
        assert runtime.resized_size(height, width, rule) == expected


def test_windows_are_the_segmentor_s():
    for height, width in [(64, 85), (512, 683), (64, 64), (100, 700),
                          (1000, 1001)]:
        for window, stride in [((64, 64), (48, 48)), ((512, 512), (426, 426)),
                               ((64, 96), (40, 30))]:
            if height < window[0] or width < window[1]:
                continue
            assert runtime.sliding_windows(height, width, window,
                                           stride) == sliding_windows(
                                               height, width, window, stride)


def test_scores_resize_back_as_pytorch_resizes_them():
    """PyTorch's weights exactly (an identity resized gives them), and the
    scores within float32 rounding of ``F.interpolate``."""
    rng = np.random.default_rng(0)
    for (height, width), (out_h, out_w) in [((64, 85), (120, 200)),
                                            ((512, 683), (480, 640)),
                                            ((64, 85), (37, 50)),
                                            ((96, 128), (96, 128))]:
        eye = torch.eye(height)[None, None]
        weights = F.interpolate(
            eye, size=(out_h, height), mode='bilinear',
            align_corners=False)[0, 0].numpy()
        ours = runtime.resize_scores(
            np.eye(height, dtype=np.float32)[None], out_h, height)[0]
        assert (ours == weights).all()
        scores = rng.standard_normal((3, height, width)).astype(np.float32)
        expected = F.interpolate(
            torch.from_numpy(scores)[None],
            size=(out_h, out_w),
            mode='bilinear',
            align_corners=False)[0].numpy()
        actual = runtime.resize_scores(scores, out_h, out_w)
        spacing = np.spacing(np.abs(expected).max())
        assert np.abs(actual - expected).max() <= 4 * spacing
        labels = runtime.resized_argmax(scores, out_h, out_w)
        assert (labels == expected.argmax(0)).mean() > 0.999


def test_the_first_class_of_highest_score_as_argmax_finds_it():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 4, (9, 30, 20)).astype(np.float32)  # ties
    scores[3, :2] = np.nan
    scores[5, 1:3] = np.nan
    best, labels = runtime.first_argmax(scores)
    expected = torch.from_numpy(scores).argmax(dim=0).numpy()
    assert (labels == expected).all()
    assert np.array_equal(
        best, torch.from_numpy(scores).amax(0).numpy(), equal_nan=True)


def test_labels_of_many_classes_are_taken_a_block_at_a_time(monkeypatch):
    rng = np.random.default_rng(0)
    scores = rng.standard_normal((7, 20, 30)).astype(np.float32)
    whole = runtime.resized_argmax(scores, 50, 40)
    monkeypatch.setattr(runtime, 'RESIZE_BLOCK_ELEMENTS', 2 * 50 * 40)
    assert (runtime.resized_argmax(scores, 50, 40) == whole).all()


@pytest.mark.parametrize('size', [(60, 90), (700, 900)])
def test_pictures_are_tools_infer_s(size, tmp_path):
    """Colours, legend and overlay of tools/infer.py, pixel for pixel, with
    its font (DejaVu Sans, which the export copies)."""
    names = [f'class {i}' for i in range(25)]
    assert (runtime.class_colours(25) == class_colours(25)).all()
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 25, size)
    labels[:size[0] // 2] = 3
    image = rng.integers(0, 256, (*size, 3), np.uint8)
    counts = np.bincount(labels.ravel(), minlength=25)
    shares = {n: float(c) / labels.size for n, c in zip(names, counts)}
    colours = class_colours(25)
    legend = runtime.legend_by_area(shares, colours)
    expected_legend = legend_by_area(shares, colours)
    assert [text for text, _ in legend] == [t for t, _ in expected_legend]
    expected = draw_overlay(image, labels, expected_legend, colours)
    actual = runtime.draw_overlay(image, labels, legend, colours,
                                  pick_font().path)
    assert actual.shape == expected.shape
    assert (actual == expected).all()
