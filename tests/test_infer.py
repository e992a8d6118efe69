"""Open-vocabulary inference on your own images and class names."""
import mmcv
import numpy as np
import pytest
import torch
from conftest import REPO
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmseg.registry import MODELS
from PIL import Image
from tools_helpers import VOC_INDUCTIVE, run_tool, run_tools, snapshot

from cascade_clip.apis import init_model
from cascade_clip.apis.inference import (OpenVocabularySegmenter,
                                         legend_lines, segment_images)
from cascade_clip.models.text_embeddings import encode_class_names
from cascade_clip.testing import write_tiny_clip
from cascade_clip.visualization import class_colours


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    """A tiny model saved as the runner saves one: config in ``meta``."""
    root = tmp_path_factory.mktemp('infer')
    cfg = Config.fromfile(VOC_INDUCTIVE)
    cfg.model.pretrained = str(root / 'clip.pt')
    write_tiny_clip(cfg.model.pretrained)
    model = MODELS.build(cfg.model)
    model.init_weights()
    path = str(root / 'model.pth')
    torch.save(dict(meta=dict(cfg=cfg.pretty_text),
                    state_dict=model.state_dict()), path)
    return path


@pytest.fixture
def images(tmp_path):
    folder = tmp_path / 'images'
    rng = np.random.default_rng(0)
    mmcv.imwrite(rng.integers(0, 255, (120, 200, 3), np.uint8),
                 str(folder / 'wide.jpg'))
    mmcv.imwrite(rng.integers(0, 255, (90, 60, 3), np.uint8),
                 str(folder / 'tall.png'))
    (folder / 'notes.txt').write_text('not an image')
    return folder


def test_pictures_have_the_image_size_and_name_the_classes(
        checkpoint, images, tmp_path):
    classes = ['cat', 'grass', 'sky']
    results = segment_images(str(images), checkpoint, classes,
                             str(tmp_path / 'out'), device='cpu')
    assert [r['image'].split('/')[-1] for r in results] == [
        'tall.png', 'wide.jpg'
    ]
    for result, size in zip(results, [(60, 90), (200, 120)]):
        assert Image.open(result['mask']).size == size
        # the legend goes beside these small images, the image at its size
        # on the left, its colours blended with the mask's
        overlay = np.asarray(Image.open(result['overlay']).convert('RGB'))
        width, height = size
        assert overlay.shape[0] >= height and overlay.shape[1] > width
        image = mmcv.imread(result['image'], channel_order='rgb')
        mask = np.asarray(Image.open(result['mask']).convert('RGB'))
        expected = 0.5 * mask.astype(float) + 0.5 * image
        assert np.abs(overlay[:height, :width] - expected).max() <= 1
        assert (overlay[height:, :width] == 255).all()
        assert list(result['shares']) == classes
        assert sum(result['shares'].values()) == pytest.approx(1.0)
        mask = np.asarray(Image.open(result['mask']))
        colours = {tuple(c) for c in class_colours(3)}
        assert {tuple(c) for c in mask.reshape(-1, 3)} <= colours


def test_class_embeddings_are_computed_once_per_class_list(
        checkpoint, images):
    segmenter = OpenVocabularySegmenter(checkpoint, device='cpu')
    calls = []
    encode = segmenter.model.text_encoder.encode
    segmenter.model.text_encoder.encode = lambda texts: (
        calls.append(len(texts)) or encode(texts))
    image = mmcv.imread(str(images / 'wide.jpg'))
    first = segmenter(image, ['cat', 'dog'])
    segmenter(image, ['cat', 'dog'])
    assert calls == [2 * 15]  # two classes x the 15 templates, once
    other = segmenter(image, ['road', 'tree', 'car', 'sky'])
    assert calls == [30, 60]
    assert first.labels.shape == other.labels.shape == (120, 200)
    assert other.labels.max() < 4
    assert legend_lines(first)[0].startswith('cat: ')


def test_cli_prints_the_shares(checkpoint, images, tmp_path):
    result = run_tool([
        'infer.py', images, '--checkpoint', checkpoint, '--classes',
        'cat, grass,sky', '--templates', 'single', '--out', tmp_path / 'o'
    ], str(tmp_path))
    lines = [line for line in result.stdout.splitlines() if '%' in line]
    assert len(lines) == 2
    for line in lines:
        assert 'cat ' in line and 'grass ' in line and 'sky ' in line
    assert (tmp_path / 'o' / 'wide_overlay.png').is_file()


def test_clear_errors(checkpoint, tmp_path):
    with pytest.raises(FileNotFoundError, match='nothing.jpg'):
        segment_images(str(tmp_path / 'nothing.jpg'), checkpoint, ['a', 'b'],
                       str(tmp_path))
    bad = tmp_path / 'broken.jpg'
    bad.write_bytes(b'\xff\xd8 not really a jpeg')
    with pytest.raises(ValueError, match='broken.jpg'):
        segment_images(str(bad), checkpoint, ['a', 'b'], str(tmp_path))
    with pytest.raises(ValueError, match='at least two'):
        segment_images(str(REPO + '/README.md'), checkpoint, ['a'],
                       str(tmp_path))
    paper_like = tmp_path / 'no_config.pth'
    torch.save({'state_dict': {}}, paper_like)
    with pytest.raises(ValueError, match='--config'):
        OpenVocabularySegmenter(str(paper_like))


def test_labels_are_the_argmax_of_the_models_scores(checkpoint, images):
    """The labels (and so the shares and pictures) are the argmax of the
    scores the model gives these classes, computed here apart: their
    embeddings by the model's text encoder, the image through the config's
    test pipeline."""
    names = ['cat', 'grass', 'sky', 'road']
    segmenter = OpenVocabularySegmenter(
        checkpoint, templates='single', device='cpu')
    image = mmcv.imread(str(images / 'wide.jpg'))
    result = segmenter(image, names)

    model = init_model(None, checkpoint, 'cpu')
    model.set_classes(
        encode_class_names(model.text_encoder, names, 'single'))
    steps = [dict(type='LoadImageFromNDArray')] + [
        step for step in model.cfg.test_pipeline[1:]
        if 'LoadAnnotations' not in step['type']
    ]
    data = Compose(steps)(dict(img=image))
    with torch.no_grad():
        [sample] = model.test_step(pseudo_collate([data]))
    scores = sample.seg_logits.data
    assert scores.shape == (4, 120, 200)
    expected = scores.argmax(0).numpy()
    assert np.array_equal(result.labels, expected)
    assert len(np.unique(expected)) > 1  # a labelling worth comparing
    counts = np.bincount(expected.ravel(), minlength=4)
    assert list(result.shares.values()) == pytest.approx(
        list(counts / expected.size))


# ------------------------------------------------ tools/infer.py: no harm
def write_image(path, shape, seed=0):
    rng = np.random.default_rng(seed)
    mmcv.imwrite(rng.integers(0, 255, shape + (3, ), np.uint8), str(path))


def only_line(text) -> str:
    lines = text.splitlines()
    assert len(lines) == 1, text
    return lines[0]


def infer(folder, checkpoint, out, *options, classes='cat,grass,sky'):
    return [
        'infer.py', folder, '--checkpoint', checkpoint, '--classes', classes,
        '--templates', 'single', '--out', out, *options
    ]


def test_class_lists_devices_and_files_a_person_gets_wrong(
        checkpoint, tmp_path):
    """One word, no class, CLIP's weights as the checkpoint, an empty
    image, ``--device cuda`` without a GPU: one line each, exit 1, no
    file written."""
    write_image(tmp_path / 'photo.jpg', (60, 80))
    (tmp_path / 'empty.png').write_bytes(b'')
    clip = tmp_path / 'clip.pt'
    write_tiny_clip(str(clip))
    base = ['infer.py', 'photo.jpg', '--out', 'out', '--checkpoint']
    runs = [
        base + [checkpoint, '--classes', 'cat'],
        base + [checkpoint, '--classes', ''],
        base + [str(clip), '--classes', 'cat,dog'],
        ['infer.py', 'empty.png', '--out', 'out', '--checkpoint', checkpoint,
         '--classes', 'cat,dog'],
        # a machine without a GPU, also where there is one
        (base + [checkpoint, '--classes', 'cat,dog', '--device', 'cuda'],
         {'CUDA_VISIBLE_DEVICES': ''}),
    ]
    before = snapshot(tmp_path)
    results = run_tools([
        (run, str(tmp_path)) if isinstance(run, list) else
        (run[0], str(tmp_path), run[1]) for run in runs
    ], check=False)
    lines = []
    for result in results:
        assert result.returncode == 1
        assert 'Traceback' not in result.stderr
        lines.append(only_line(result.stderr))
    one, empty, clip_file, empty_image, cuda = lines
    assert one == ('error: one class (\'cat\'): with one class every pixel '
                   'is that class; give at least two class names, e.g. '
                   '"cat,background"')
    assert 'names no class: give class names separated by commas' in empty
    assert clip_file.startswith(f'error: {clip} is a CLIP weight file')
    assert '--checkpoint takes a model checkpoint' in clip_file
    assert "belong in the config's `pretrained=`" in clip_file
    assert empty_image == ('error: cannot read image empty.png: the file is '
                           'empty (0 bytes)')
    assert cuda == ('error: device cuda: no CUDA device (torch finds no GPU '
                    'here); use --device cpu')
    assert snapshot(tmp_path) == before


def test_one_word_is_a_class_unless_it_is_a_setting_or_file(tmp_path):
    from cascade_clip.apis.cli import parse_class_list
    assert parse_class_list('cat') == ['cat']
    assert parse_class_list(' cat , dog,') == ['cat', 'dog']
    assert parse_class_list('voc20') == 'voc20'
    names = tmp_path / 'names.txt'
    names.write_text('sky\ngrass\n')
    assert parse_class_list(str(names)) == str(names)
    with pytest.raises(FileNotFoundError, match='class name file not found'):
        parse_class_list(str(tmp_path / 'missing.txt'))
    for empty in ('', ' , ,'):
        with pytest.raises(ValueError, match='names no class'):
            parse_class_list(empty)
