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
from tools_helpers import (VOC_INDUCTIVE, VOC_PALETTE, run_tool, run_tools,
                           snapshot)

from cascade_clip.apis import init_model
from cascade_clip.apis.inference import OpenVocabularySegmenter, segment_images
from cascade_clip.models.text_embeddings import encode_class_names
from cascade_clip.testing import write_tiny_clip
from cascade_clip.visualization import font_note, pick_font
from cascade_clip_runtime.drawing import class_colours, legend_by_area


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
    torch.save(
        dict(meta=dict(cfg=cfg.pretty_text), state_dict=model.state_dict()),
        path)
    return path


@pytest.fixture
def images(tmp_path):
    folder = tmp_path / 'images'
    rng = np.random.default_rng(0)
    mmcv.imwrite(
        rng.integers(0, 255, (120, 200, 3), np.uint8),
        str(folder / 'wide.jpg'))
    mmcv.imwrite(
        rng.integers(0, 255, (90, 60, 3), np.uint8), str(folder / 'tall.png'))
    (folder / 'notes.txt').write_text('not an image')
    return folder


def test_pictures_have_the_image_size_and_name_the_classes(
        checkpoint, images, tmp_path):
    classes = ['cat', 'grass', 'sky']
    results = segment_images(
        str(images), checkpoint, classes, str(tmp_path / 'out'), device='cpu')
    assert [r['image'].split('/')[-1]
            for r in results] == ['tall.png', 'wide.jpg']
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


def test_class_embeddings_are_computed_once_per_class_list(checkpoint, images):
    segmenter = OpenVocabularySegmenter(checkpoint, device='cpu')
    calls = []
    encode = segmenter.model.text_encoder.encode
    segmenter.model.text_encoder.encode = lambda texts: (
        calls.append(len(texts)) or encode(texts))
    image = mmcv.imread(str(images / 'wide.jpg'), channel_order='rgb')
    first = segmenter(image, ['cat', 'dog'])
    segmenter(image, ['cat', 'dog'])
    assert calls == [2 * 15]  # two classes x the 15 templates, once
    other = segmenter(image, ['road', 'tree', 'car', 'sky'])
    assert calls == [30, 60]
    assert first.labels.shape == other.labels.shape == (120, 200)
    assert other.labels.max() < 4
    legend = legend_by_area(first.shares, class_colours(2))
    assert legend[0][0].startswith(('cat: ', 'dog: '))


def test_clear_errors(checkpoint, tmp_path):
    with pytest.raises(FileNotFoundError, match='nothing.jpg'):
        segment_images(
            str(tmp_path / 'nothing.jpg'), checkpoint, ['a', 'b'],
            str(tmp_path))
    bad = tmp_path / 'broken.jpg'
    bad.write_bytes(b'\xff\xd8 not really a jpeg')
    with pytest.raises(ValueError, match='broken.jpg'):
        segment_images(str(bad), checkpoint, ['a', 'b'], str(tmp_path))
    with pytest.raises(ValueError, match='at least two'):
        segment_images(
            str(REPO + '/README.md'), checkpoint, ['a'], str(tmp_path))
    paper_like = tmp_path / 'no_config.pth'
    torch.save({'state_dict': {}}, paper_like)
    with pytest.raises(ValueError, match='--config'):
        OpenVocabularySegmenter(str(paper_like))


def test_labels_are_the_argmax_of_the_models_scores(checkpoint, images):
    """The labels (and so the shares and pictures) of the one inference path
    are the argmax of the scores the model gives these classes, computed
    here apart: their embeddings by the model's text encoder, the image
    read by mmcv and through the config's test pipeline and mmseg's
    ``test_step``."""
    names = ['cat', 'grass', 'sky', 'road']
    segmenter = OpenVocabularySegmenter(
        checkpoint, templates='single', device='cpu')
    result = segmenter(str(images / 'wide.jpg'), names)
    rgb = mmcv.imread(str(images / 'wide.jpg'), channel_order='rgb')
    assert np.array_equal(segmenter(rgb, names).labels, result.labels)
    image = mmcv.imread(str(images / 'wide.jpg'))  # BGR, as mmcv's pipeline

    model = init_model(None, checkpoint, 'cpu')
    model.set_classes(encode_class_names(model.text_encoder, names, 'single'))
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


def test_infer_never_overwrites_and_names_every_output_apart(
        checkpoint, tmp_path):
    """Through tools/infer.py, at once: ``a.jpg`` and ``a.png`` get outputs
    of their own, written into their own folder; an output folder that holds
    a file of the same name is refused and left as it is; a folder with an
    unreadable and an empty image among good ones is reported and the rest
    segmented, and the font of a CJK class name is named. Then the first
    folder again, with ``--overwrite``: its pictures are replaced, not
    segmented; ``--skip-bad``: exit 0 with a bad image. A dataset's class
    list is drawn in the dataset's colours, those tools/visualize.py draws
    it in (VOC's); another list in class_colours: one palette."""
    from cascade_clip.structures import DATASET_CLASSES, class_palette
    photos = tmp_path / 'photos'
    write_image(photos / 'a.jpg', (120, 200))
    write_image(photos / 'a.png', (90, 60), seed=1)
    write_image(photos / 'b.png', (50, 70), seed=2)
    others = tmp_path / 'others'
    write_image(others / 'b.png', (50, 70), seed=3)
    taken = tmp_path / 'taken'
    taken.mkdir()
    (taken / 'b_mask.png').write_bytes(b'the user\'s own file')
    mixed = tmp_path / 'mixed'
    write_image(mixed / 'good.jpg', (60, 80))
    (mixed / 'broken.jpg').write_bytes(b'\xff\xd8 not really a jpeg')
    (mixed / 'empty.png').write_bytes(b'')
    before = snapshot(tmp_path)
    written, refused, bad = run_tools([
        (infer(photos, checkpoint, photos, classes='voc20'), str(tmp_path)),
        (infer(others, checkpoint, taken), str(tmp_path)),
        (infer(mixed, checkpoint, tmp_path / 'out',
               classes='cat, 草,sky'), str(tmp_path)),
    ],
                                      check=False)
    assert written.returncode == 0, written.stderr
    assert refused.returncode == 1
    assert only_line(refused.stderr) == (
        f'error: {taken}/b_mask.png exists already: pass --overwrite to '
        'replace, or choose another --out')
    assert refused.stdout == ''
    after = snapshot(tmp_path)
    assert {p: after[p] for p in before} == before  # nothing changed
    outputs = [
        'a.jpg_mask.png', 'a.jpg_overlay.png', 'a.png_mask.png',
        'a.png_overlay.png', 'b_mask.png', 'b_overlay.png'
    ]
    assert sorted(
        p.name
        for p in photos.iterdir()) == sorted(['a.jpg', 'a.png', 'b.png'] +
                                             outputs)
    colours = set()
    for name, size in (('a.jpg', (200, 120)), ('a.png', (60, 90)), ('b',
                                                                    (70, 50))):
        mask = Image.open(photos / f'{name}_mask.png')
        assert mask.size == size
        # the legend beside these small images, not over them
        overlay = Image.open(photos / f'{name}_overlay.png')
        assert overlay.size[0] > size[0] and overlay.size[1] >= size[1]
        colours |= {tuple(c) for c in np.asarray(mask).reshape(-1, 3)}
    assert class_palette(DATASET_CLASSES['voc20']).tolist() == VOC_PALETTE
    assert colours <= {tuple(c) for c in VOC_PALETTE} and len(colours) > 1
    assert np.array_equal(class_palette(['cat', 'grass']), class_colours(2))

    assert bad.returncode == 1
    assert bad.stderr.splitlines() == [
        f'skipped: cannot read image {mixed}/broken.jpg: not an image file',
        f'skipped: cannot read image {mixed}/empty.png: the file is empty '
        '(0 bytes)',
        f'error: 2 of 3 images could not be read ({mixed}/broken.jpg, '
        f'{mixed}/empty.png); the others were segmented (--skip-bad: exit '
        '0)'
    ]
    [shares] = [line for line in bad.stdout.splitlines() if '%' in line]
    assert shares.startswith(f'{mixed}/good.jpg: cat ')
    assert ', 草 ' in shares and ', sky ' in shares
    # which font draws 草 (DejaVu Sans has no glyph for it) is said
    note = font_note(pick_font(['cat', '草', 'sky']))
    assert note and bad.stdout.splitlines()[0] == note
    assert sorted(p.name for p in (tmp_path / 'out').iterdir()) == [
        'good_mask.png', 'good_overlay.png'
    ]

    (photos / 'broken.jpg').write_bytes(b'\xff\xd8 not really a jpeg')
    before = snapshot(photos)
    again = run_tool(
        infer(
            photos,
            checkpoint,
            photos,
            '--overwrite',
            '--skip-bad',
            classes='voc20'), str(tmp_path))
    assert 'left out 6 pictures this tool wrote into the folder' in (
        again.stdout)
    assert again.stderr.splitlines() == [
        f'skipped: cannot read image {photos}/broken.jpg: not an image file'
    ]
    wrote = [
        line for line in again.stdout.splitlines()
        if line.startswith('  wrote ')
    ]
    assert wrote == [
        f'  wrote {photos}/{stem}_mask.png and {photos}/{stem}_overlay.png'
        for stem in ('a.jpg', 'a.png', 'b')
    ]
    after = snapshot(photos)
    assert set(after) == set(before)
    assert all(after[p] == before[p] for p in after
               if not p.endswith(tuple(outputs)))


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
        [
            'infer.py', 'empty.png', '--out', 'out', '--checkpoint',
            checkpoint, '--classes', 'cat,dog'
        ],
        # a machine without a GPU, also where there is one
        (base + [checkpoint, '--classes', 'cat,dog', '--device', 'cuda'], {
            'CUDA_VISIBLE_DEVICES': ''
        }),
    ]
    before = snapshot(tmp_path)
    results = run_tools([(run, str(tmp_path)) if isinstance(run, list) else
                         (run[0], str(tmp_path), run[1]) for run in runs],
                        check=False)
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
    """One set of rules for the command line, the web page (no file read)
    and the runtime (its manifest's lists)."""
    from cascade_clip.structures import DATASET_CLASSES
    from cascade_clip_runtime.classes import parse_class_list

    def parse(text, **options):
        return parse_class_list(text, DATASET_CLASSES, **options)

    assert parse('cat') == ['cat']
    assert parse(' cat , dog,') == ['cat', 'dog']
    assert parse('cat, dog\nsky ,, \n') == ['cat', 'dog', 'sky']
    assert parse('voc20') == list(DATASET_CLASSES['voc20'])
    names = tmp_path / 'names.txt'
    names.write_text('sky\ngrass\n')
    assert parse(str(names)) == ['sky', 'grass']
    # a web page never reads the server's files: a path is a name
    assert parse(str(names), read_files=False) == [str(names)]
    assert parse('/etc/hostname', read_files=False) == ['/etc/hostname']
    with pytest.raises(FileNotFoundError, match='class name file not found'):
        parse(str(tmp_path / 'missing.txt'))
    (tmp_path / 'twice.txt').write_text('sky\nsky\n')
    with pytest.raises(ValueError, match=r"lists \['sky'\] more than once"):
        parse(str(tmp_path / 'twice.txt'))
    for empty in ('', ' , ,', '\n'):
        with pytest.raises(ValueError, match='names no class'):
            parse(empty)
