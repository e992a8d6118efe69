"""Class names and prompt templates: the rules for a class list given as
text (the same on the command line, in the web page and in the runtime),
the check that a list can be segmented into, and the prompt templates."""
import os
import os.path as osp
import re
from typing import List, Mapping, Sequence, Union

SINGLE_TEMPLATE = ('a photo of a {}', )
MULTI_TEMPLATES = (
    'a photo of a {}.',
    'a photo of a small {}.',
    'a photo of a medium {}.',
    'a photo of a large {}.',
    'This is a photo of a {}.',
    'This is a photo of a small {}.',
    'This is a photo of a medium {}.',
    'This is a photo of a large {}.',
    'a {} in the scene.',
    'a photo of a {} in the scene.',
    'There is a {} in the scene.',
    'There is the {} in the scene.',
    'This is a {} in the scene.',
    'This is the {} in the scene.',
    'This is one {} in the scene.',
)
TEMPLATES = {'single': SINGLE_TEMPLATE, 'multi': MULTI_TEMPLATES}

ClassLists = Mapping[str, Sequence[str]]


def resolve_templates(
        templates: Union[str, Sequence[str]],
        named: Mapping[str, Sequence[str]] = TEMPLATES) -> List[str]:
    """``'single'`` (VOC's), ``'multi'`` (the 15 of Context and COCO), or
    another name of ``named``, or a list of templates, each with one
    ``{}`` for the class name."""
    if isinstance(templates, str):
        if templates not in named:
            raise ValueError(f'templates must be one of {sorted(named)} or '
                             f'a list of strings, not {templates!r}')
        return list(named[templates])
    templates = list(templates)
    bad = [t for t in templates if t.count('{}') != 1]
    if not templates or bad:
        raise ValueError('each prompt template needs exactly one "{}" for '
                         f'the class name; got {bad or templates}')
    return templates


def check_class_names(names: Sequence[str]) -> None:
    """A list to segment into: two or more distinct names.

    Scores only compare classes (each pixel takes the best one), so with
    one class every pixel is that class.
    """
    if not names:
        raise ValueError('no class names given: give at least two')
    if len(names) < 2:
        raise ValueError(
            f'one class ({names[0]!r}): with one class every pixel is that '
            'class; give at least two class names, e.g. '
            f'"{names[0]},background"')
    if len(set(names)) != len(names):
        repeated = sorted({n for n in names if list(names).count(n) > 1})
        raise ValueError(f'class names repeat: {repeated} more than once in '
                         f'{list(names)}')


def read_class_file(path: str) -> List[str]:
    """Class names from a text file, one per line; blank lines are skipped
    and the names stripped.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file lists no name, or a name twice.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'class name file not found: {path}')
    with open(path, encoding='utf-8') as f:
        names = [line.strip() for line in f if line.strip()]
    if not names:
        raise ValueError(f'class name file {path} lists no class')
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f'class name file {path} lists {repeated} more than '
                         'once; every class needs its own name')
    return names


def parse_class_list(text: str,
                     class_lists: ClassLists,
                     read_files: bool = True,
                     what: str = '--classes') -> List[str]:
    """Class names from text, by one set of rules: names separated by
    commas or new lines (blanks dropped); a single name that is a class
    list's (``voc20``, ``coco_stuff171``, ...) stands for that list;
    with ``read_files``, a single name that is a text file is read (one
    name a line, :func:`read_class_file`). A web page passes
    ``read_files=False``: a visitor never reads the server's files.

    Args:
        text: What was typed.
        class_lists: The named class lists.
        read_files: Whether a file name is read.
        what: How the error calls the text (``--classes``).

    Raises:
        ValueError: no name is given.
        FileNotFoundError: with ``read_files``, a single name that looks
            like a file path (a separator or ``.txt``) that does not
            exist.
    """
    names = [name.strip() for name in re.split(r'[,\n]', text or '')]
    names = [name for name in names if name]
    if not names:
        raise ValueError(
            f'{what} {text!r} names no class: give class names separated '
            'by commas ("cat,grass,sky"), a class list '
            f'({", ".join(sorted(class_lists))})' +
            (' or a text file with one name per line' if read_files else ''))
    if len(names) > 1:
        return names
    name = names[0]
    if name in class_lists:
        return list(class_lists[name])
    if read_files:
        if osp.isfile(name):
            return read_class_file(name)
        if os.sep in name or name.lower().endswith('.txt'):
            raise FileNotFoundError(f'class name file not found: {name}')
    return names


def parse_distractors(text: Union[str, Sequence[str], None],
                      class_lists: ClassLists,
                      class_names: Sequence[str],
                      read_files: bool = True) -> List[str]:
    """Distractor names: classes that compete with the given ones, a pixel
    won by one of them being unlabelled (SAN's vocabulary expansion).

    ``text`` is a class list's name (``coco_stuff171``), whose names
    that are among ``class_names`` are left out (they are the given
    classes); names separated by commas or new lines (a list), none of
    which may be a given class; or a text file of names (with
    ``read_files``). A single word that is none of these is an unknown
    class list: a single distractor name is written with a comma
    (``"background,"``).

    Raises:
        ValueError: an unknown class list, or given names among the
            classes.
    """
    if text is None or (isinstance(text, str) and not text.strip()):
        return []
    if isinstance(text, str):
        word = text.strip()
        if word in class_lists:
            given = set(class_names)
            return [n for n in class_lists[word] if n not in given]
        if re.search(r'[,\n]',
                     word) is None and not (read_files and osp.isfile(word)):
            if os.sep in word or word.lower().endswith('.txt'):
                raise FileNotFoundError(f'distractor file not found: {word}')
            raise ValueError(
                f'distractors {word!r}: no such class list (known: '
                f'{", ".join(sorted(class_lists))}); give one, or names '
                'separated by commas ("sky,wall," for one name: "sky,")')
        names = parse_class_list(word, class_lists, read_files, 'distractors')
    else:
        names = [str(name) for name in text]
    typed = sorted(set(names) & set(class_names))
    if typed:
        raise ValueError(
            f'distractors {typed} are class names you gave: a distractor '
            'is a class whose pixels are unlabelled; remove them from '
            'the distractors or from the classes')
    return list(dict.fromkeys(names))
