"""The font pictures are drawn with: DejaVu Sans (shipped with matplotlib)
where it has every character, else an installed font that has them all
(Noto Sans CJK, Source Han Sans, Droid Sans Fallback, WenQuanYi... for class
names in Chinese or Japanese), found through matplotlib's font manager."""
import functools
import os.path as osp
from dataclasses import dataclass
from typing import FrozenSet, Iterable, List, Optional

from PIL import ImageFont

from cascade_clip_runtime.drawing import load_font

DEFAULT_FAMILY = 'DejaVu Sans'
# Tried first, in this order, when DejaVu Sans lacks a character.
PREFERRED_FALLBACKS = ('Noto Sans CJK', 'Source Han Sans', 'Noto Sans SC',
                       'Noto Sans JP', 'Droid Sans Fallback', 'WenQuanYi',
                       'AR PL', 'IPAGothic', 'IPAPGothic', 'Unifont')
# Fonts whose glyphs are placeholders (boxes naming the Unicode block).
PLACEHOLDER_FONTS = ('Last Resort', )


@dataclass(frozen=True)
class FontChoice:
    """A font file for some texts.

    Attributes:
        path: The font file (``None``: PIL's built-in font).
        name: Its family name.
        missing: Characters of the texts it has no glyph for (empty when
            it has them all).
    """
    path: Optional[str]
    name: str
    missing: str = ''

    def load(self, size: int) -> ImageFont.ImageFont:
        """The font at ``size`` pixels."""
        return load_font(self.path, size)


@functools.lru_cache(maxsize=None)
def _characters(path: str) -> FrozenSet[int]:
    """The code points a font file has glyphs for (first font of a
    collection)."""
    from fontTools.ttLib import TTFont
    try:
        with TTFont(path, fontNumber=0, lazy=True) as font:
            return frozenset(font.getBestCmap() or ())
    except Exception:  # a file fontTools cannot read has no usable glyphs
        return frozenset()


def _needed(texts: Iterable[str]) -> FrozenSet[int]:
    return frozenset(
        ord(c) for text in texts for c in str(text) if not c.isspace())


def _default() -> Optional[str]:
    try:
        from matplotlib import font_manager
        return str(
            font_manager.findfont(
                font_manager.FontProperties(family=DEFAULT_FAMILY),
                fallback_to_default=True))
    except (ImportError, ValueError):
        return None


def _candidates() -> List[tuple]:
    """``(name, path)`` of the installed fonts, preferred fallbacks first."""
    try:
        from matplotlib import font_manager
    except ImportError:
        return []
    entries = sorted({(f.name, str(f.fname))
                      for f in font_manager.fontManager.ttflist
                      if not f.name.startswith(PLACEHOLDER_FONTS)})

    def rank(entry):
        for k, prefix in enumerate(PREFERRED_FALLBACKS):
            if entry[0].startswith(prefix):
                return k
        return len(PREFERRED_FALLBACKS)

    return sorted(entries, key=rank)


def pick_font(texts: Iterable[str] = ()) -> FontChoice:
    """DejaVu Sans if it has every character of ``texts``, else the first
    installed font (preferred fallbacks first) that has them all, else
    DejaVu Sans with the characters it lacks in ``missing``."""
    default = _default()
    needed = _needed(texts)
    if default is not None and needed <= _characters(default):
        return FontChoice(default, DEFAULT_FAMILY)
    for name, path in _candidates():
        if needed <= _characters(path):
            return FontChoice(path, name)
    have = _characters(default) if default is not None else frozenset()
    missing = ''.join(sorted(chr(c) for c in needed - have))
    if default is None:
        return FontChoice(None, 'PIL default', missing)
    return FontChoice(default, DEFAULT_FAMILY, missing)


def font_note(choice: FontChoice) -> Optional[str]:
    """One line saying which font draws the legend, when it is not the
    default or lacks characters; ``None`` otherwise."""
    if choice.missing:
        return (f'no installed font has {choice.missing!r}: the legend draws '
                f'them as boxes with {choice.name} (install a font with '
                'these glyphs, e.g. Noto Sans CJK: fonts-noto-cjk)')
    if choice.name != DEFAULT_FAMILY:
        return (f'legend font: {choice.name} ({osp.basename(choice.path)}),'
                f' for characters {DEFAULT_FAMILY} lacks')
    return None
