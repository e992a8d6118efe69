"""The overlay's legend: sized by the image, beside a small image rather
than over it, the classes present by area (300 classes), and a font that
has the glyphs of the class names (a CJK name), as the PyTorch path picks
it for the runtime's drawing."""
import numpy as np
import pytest
from matplotlib import font_manager
from PIL import Image, ImageDraw

from cascade_clip.visualization import font_note, pick_font
from cascade_clip_runtime.drawing import (class_colours, draw_overlay,
                                          legend_box, legend_by_area,
                                          legend_font_size)

GRASS = '草'


def entries(names):
    colours = class_colours(len(names))
    return [(f'{name}: 33.3%', colours[i]) for i, name in enumerate(names)]


def test_legend_goes_beside_a_small_image_and_over_a_large_one():
    names = ['sheep', 'grass', 'sky']
    colours = class_colours(3)
    small = np.full((40, 60, 3), 100, np.uint8)
    labels = np.zeros((40, 60), np.int64)
    font = pick_font().path
    picture = draw_overlay(small, labels, entries(names), colours, font=font)
    assert picture.shape[0] >= 40 and picture.shape[1] > 60
    assert (picture[:40, :60] == np.rint(0.5 * colours[0] + 50)).all()
    assert (picture[40:, :60] == 255).all()

    big = np.full((1200, 1600, 3), 100, np.uint8)
    labels = np.zeros((1200, 1600), np.int64)
    picture = draw_overlay(big, labels, entries(names), colours, font=font)
    assert picture.shape == big.shape  # over the image, which keeps its size
    assert legend_font_size(1200, 1600) == 30 > legend_font_size(40, 60)
    assert legend_font_size(3000, 4000) == 75
    # the legend box: 3 rows of 30 px text, lighter than the image
    box = legend_box(
        ImageDraw.Draw(Image.new('RGB', (1, 1))),
        [t for t, _ in entries(names)],
        pick_font().load(30), 30, (1200, 1600))
    assert not box.beside and box.height > 3 * 30
    blended = np.rint(0.5 * colours[0] + 50)
    assert (picture[box.height + 2:, :] == blended).all()
    assert picture[:box.height, :box.width].mean() > blended.mean() + 50
    assert (picture[:box.height, box.width + 2:] == blended).all()


def test_legend_lists_the_classes_present_by_area():
    names = [f'class {i}' for i in range(300)]
    labels = np.zeros((100, 100), np.int64)
    # classes 200..224 cover 1..25 rows each, the rest of the image class 7
    row = 0
    for k, cls in enumerate(range(200, 225)):
        labels[row:row + 1 + k // 8] = cls
        row += 1 + k // 8
    labels[row:] = 7
    counts = np.bincount(labels.ravel(), minlength=300)
    shares = {n: c / labels.size for n, c in zip(names, counts)}
    colours = class_colours(300)
    legend = legend_by_area(shares, colours)
    assert len(legend) == 20
    shown = [text.split(':')[0] for text, _ in legend[:-1]]
    present = sorted((-c, i) for i, c in enumerate(counts) if c)
    assert shown == [f'class {i}' for _, i in present[:19]]
    assert shown[0] == 'class 7'
    assert legend[-1][0].startswith(f'{len(present) - 19} more classes: ')
    assert legend[-1][1] is None
    for text, colour in legend[:-1]:
        assert np.array_equal(colour, colours[int(text.split()[1][:-1])])
    assert all('0.0%' not in text for text, _ in legend)

    few = np.full((10, 10), 299)
    few[:3] = 0
    few[:1] = 150
    shares = {n: float((few == i).mean()) for i, n in enumerate(names)}
    assert [t for t, _ in legend_by_area(shares, colours)
            ] == ['class 299: 70.0%', 'class 0: 20.0%', 'class 150: 10.0%']


def write_font(path, characters):
    """A TrueType font whose glyphs are squares, for ``characters``."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    names = ['.notdef'] + [f'uni{ord(c):04X}' for c in characters]
    builder = FontBuilder(1000, isTTF=True)
    builder.setupGlyphOrder(names)
    builder.setupCharacterMap({
        ord(c): n
        for c, n in zip(characters, names[1:])
    })
    glyphs = {}
    for name in names:
        pen = TTGlyphPen(None)
        pen.moveTo((100, 0))
        pen.lineTo((100, 700))
        pen.lineTo((600, 700))
        pen.lineTo((600, 0))
        pen.closePath()
        glyphs[name] = pen.glyph()
    builder.setupGlyf(glyphs)
    builder.setupHorizontalMetrics({n: (700, 100) for n in names})
    builder.setupHorizontalHeader(ascent=800, descent=-200)
    builder.setupNameTable(dict(familyName='Test Glyphs', styleName='Regular'))
    builder.setupOS2()
    builder.setupPost()
    builder.save(path)


def test_a_font_with_the_glyphs_draws_cjk_names(tmp_path, monkeypatch):
    text = f'{GRASS}: 50.0%'
    before = pick_font([text])
    # DejaVu Sans has no 草: another installed font, or none and a note
    assert before.name != 'DejaVu Sans' or before.missing == GRASS
    if before.missing:
        assert font_note(before).startswith(f"no installed font has '{GRASS}'")
    assert font_note(pick_font(['sheep: 1.0%'])) is None

    path = str(tmp_path / 'glyphs.ttf')
    write_font(path, sorted(set(text)))
    monkeypatch.setattr(font_manager.fontManager, 'ttflist',
                        list(font_manager.fontManager.ttflist))
    font_manager.fontManager.addfont(path)
    choice = pick_font([text])
    if before.missing:  # else an installed font with the glyph comes first
        assert choice.name == 'Test Glyphs' and choice.path == path
        assert font_note(choice) == ('legend font: Test Glyphs (glyphs.ttf), '
                                     'for characters DejaVu Sans lacks')
    assert not choice.missing

    # the glyph is drawn: a filled square where DejaVu draws an outline
    labels = np.zeros((30, 40), np.int64)
    image = np.zeros((30, 40, 3), np.uint8)
    picture = draw_overlay(
        image,
        labels, [(GRASS, None)],
        class_colours(1),
        font_size=40,
        font=pick_font([GRASS]).path)
    legend = picture[:, 40:]
    ink = (legend < 128).all(-1)
    assert ink.sum() > 0.25 * 40 * 40  # DejaVu's empty box: 0.13


@pytest.mark.parametrize('size', [(40, 60), (300, 400)])
def test_legend_text_is_never_cut(size):
    long_names = ['a very long class name indeed', 'sheep']
    labels = np.zeros(size, np.int64)
    picture = draw_overlay(
        np.zeros(size + (3, ), np.uint8),
        labels,
        entries(long_names),
        class_colours(2),
        font=pick_font().path)
    font = pick_font().load(legend_font_size(*size))
    draw = ImageDraw.Draw(Image.new('RGB', (1, 1)))
    widest = max(draw.textlength(t, font=font) for t, _ in entries(long_names))
    assert picture.shape[1] >= size[1] + widest
