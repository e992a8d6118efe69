"""The steps the runtime does without the libraries the PyTorch path uses,
against those libraries, one at a time: the tokenizer against mmseg's,
reading images against mmcv's, the resize against OpenCV and the
config's test pipeline, the numpy resize back and best class against
PyTorch's (the same steps with torch tensors). None of them needs
onnxruntime."""
import cv2
import mmcv
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmcv.transforms import Compose
from mmengine.registry import init_default_scope
from mmseg.utils import tokenize
from mmseg.utils.tokenizer import default_bpe
from PIL import Image

from cascade_clip.deploy.export import resize_rule
from cascade_clip.models.segmentors import TORCH
from cascade_clip.structures import DATASET_CLASSES
from cascade_clip_runtime import images, scores
from cascade_clip_runtime.classes import MULTI_TEMPLATES
from cascade_clip_runtime.tokenizer import ClipTokenizer


@pytest.fixture(scope='module')
def tokenizer():
    return ClipTokenizer(default_bpe())


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
    """EXIF orientation applied; grey, 16-bit grey, RGBA and palette images
    to RGB."""
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
    deep = rng.integers(0, 2**16, (30, 50), np.uint16)
    cv2.imwrite(str(tmp_path / 'grey16.png'), deep)
    cv2.imwrite(
        str(tmp_path / 'colour16.png'),
        rng.integers(0, 2**16, (30, 50, 3), np.uint16))
    for name in ('turned.jpg', 'grey.png', 'alpha.png', 'palette.png',
                 'grey16.png', 'colour16.png'):
        path = str(tmp_path / name)
        expected = mmcv.imread(path, channel_order='rgb')
        actual = images.read_image(path)
        assert actual.shape == expected.shape, name
        assert (actual == expected).all(), name
    assert images.read_image(str(tmp_path / 'turned.jpg')).shape[:2] == (50,
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
        actual = images.resize_uint8(image, out_h, out_w)
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
        assert images.resized_size(height, width, rule) == expected


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
        ours = scores.resize_scores(
            np.eye(height, dtype=np.float32)[None], out_h, height)[0]
        assert (ours == weights).all()
        given = rng.standard_normal((1, 3, height, width)).astype(np.float32)
        expected = F.interpolate(
            torch.from_numpy(given),
            size=(out_h, out_w),
            mode='bilinear',
            align_corners=False).numpy()
        actual = scores.resize_scores(given, out_h, out_w)
        spacing = np.spacing(np.abs(expected).max())
        assert np.abs(actual - expected).max() <= 4 * spacing
        _, labels = scores.resized_argmax(given, (out_h, out_w))
        assert (labels == expected.argmax(1)).mean() > 0.999


def test_the_first_class_of_highest_score_as_argmax_finds_it():
    rng = np.random.default_rng(0)
    given = rng.integers(0, 4, (2, 9, 30, 20)).astype(np.float32)  # ties
    given[0, 3, :2] = np.nan
    given[1, 5, 1:3] = np.nan
    best, labels = scores.first_argmax(given)
    expected = torch.from_numpy(given).argmax(dim=1).numpy()
    assert (labels == expected).all()
    assert np.array_equal(
        best, torch.from_numpy(given).amax(1).numpy(), equal_nan=True)


@pytest.mark.parametrize('block', [None, 2 * 50 * 40, 1])
def test_numpy_and_torch_give_the_same_labels_a_block_at_a_time(block):
    """The best class of resized scores, a block of classes at a time, with
    numpy (the runtime) and with torch (the PyTorch path): the same labels
    as the argmax of all classes resized at once, ties and NaNs too."""
    rng = np.random.default_rng(0)
    given = rng.integers(0, 3, (1, 7, 20, 30)).astype(np.float32)  # ties
    given[0, 4, 3:5, 3:5] = np.nan
    expected = F.interpolate(
        torch.from_numpy(given), size=(50, 40), mode='bilinear').argmax(1)
    _, ours = scores.resized_argmax(given, (50, 40), block_elements=block)
    _, theirs = scores.resized_argmax(
        torch.from_numpy(given), (50, 40), TORCH, block_elements=block)
    assert np.array_equal(theirs.numpy(), expected.numpy())
    assert (ours == expected.numpy()).mean() > 0.999  # float rounding


def test_windows_merge_alike_in_numpy_and_torch():
    """The windows' scores summed and divided by the windows over each
    pixel, with numpy and with torch tensors."""
    rng = np.random.default_rng(0)
    inputs = rng.standard_normal((1, 3, 100, 130)).astype(np.float32)

    def score(crops):  # a stand-in model: 4 classes from the pixels
        return crops[:, :1].repeat(4, 1) * np.arange(1, 5).reshape(1, 4, 1, 1)

    def torch_score(crops):
        return torch.from_numpy(score(crops.numpy()))

    for per_batch in (None, 1, 3):
        ours = scores.slide_scores(score, inputs, 4, (64, 64), (48, 48),
                                   per_batch)
        theirs = scores.slide_scores(torch_score, torch.from_numpy(inputs), 4,
                                     (64, 64), (48, 48), per_batch, TORCH)
        np.testing.assert_array_equal(ours, theirs.numpy())
        # every window scores each pixel alike here: the merge is the score
        np.testing.assert_allclose(ours, score(inputs), rtol=1e-6)
