"""The web demo's answer to one request, a plain function that needs no
browser: :meth:`WebDemo.segment` reads the image, parses the class names
and templates, refuses what the server should not run, segments with the
one inference path (:class:`~cascade_clip.apis.OpenVocabularySegmenter`)
and draws the pictures as ``tools/infer.py`` draws them.
:mod:`.page` puts it on a Gradio page.
"""
import os.path as osp
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from cascade_clip_runtime.classes import (check_class_names, parse_class_list,
                                          parse_distractors, resolve_templates)
from cascade_clip_runtime.drawing import label_png_value, write_label_png
from cascade_clip_runtime.files import RotatingFolders
from cascade_clip_runtime.images import check_image, read_image
from cascade_clip_runtime.scores import check_threshold, score_memory_bytes
from ..apis.inference import OpenVocabularySegmenter
from ..models.text_embeddings import TEMPLATES
from ..utils.cli import error_line
from ..utils.device import is_out_of_memory
from ..utils.memory import free_memory_bytes

# A request's limits by default (WebDemo's max_classes, max_templates): a
# list as long as ADE20K-847's passes.
MAX_CLASSES = 1000
MAX_TEMPLATES = 100
# Where no memory budget is given, a request may take this share of the
# memory the device has free when it arrives.
FREE_MEMORY_SHARE = 0.5
# Result folders kept on disk (the page has copied the older ones).
KEPT_RESULTS = 16

NO_CLASSES = ('no class names: type two or more, separated by commas or '
              'new lines')
NO_IMAGE = 'no image: upload or paste one, or click an example'

Progress = Callable[[float, str], Any]


@dataclass
class Example:
    """An example of the page: an image and the class names typed for it.

    Attributes:
        image: Path of the image.
        class_names: The class names, as typed in the page's text box.
        caption: What the example shows (for the page's text).
    """
    image: str
    class_names: str
    caption: str = ''


@dataclass
class DemoOutput:
    """What the page shows for one request.

    Attributes:
        message: One line: what was found, or what is wrong and what to do.
        ok: Whether the image was segmented.
        overlay: The overlay picture (``<stem>_overlay.png``).
        files: The label mask (``<stem>_labels.png``, the class index per
            pixel) and the coloured mask (``<stem>_mask.png``).
        table: ``[index, class, share in percent, training]`` per class,
            the largest share first; ``training`` is ``'seen'`` or
            ``'unseen'`` for a class of the model's training (its masks
            were, or were not, learned from) and empty for another.
        seconds: Time from the request to its pictures.
    """
    message: str
    ok: bool = False
    overlay: Optional[str] = None
    files: List[str] = field(default_factory=list)
    table: List[List[Any]] = field(default_factory=list)
    seconds: float = 0.0


class RequestError(ValueError):
    """A request the demo refuses; its message is shown in the page."""


def parse_template_text(text: Optional[str],
                        default: Sequence[str]) -> List[str]:
    """Prompt templates from the page's text box: one per line with
    ``{}`` for the class name, ``single`` or ``multi`` (see
    :func:`~cascade_clip_runtime.classes.resolve_templates`), or
    ``default`` when empty."""
    text = (text or '').strip()
    if not text:
        return list(default)
    if text in TEMPLATES:
        return resolve_templates(text)
    return resolve_templates(
        [line.strip() for line in text.splitlines() if line.strip()])


def _gib(size: float) -> str:
    return f'{size / 2**30:.1f} GiB' if size >= 2**28 else \
        f'{size / 2**20:.0f} MiB'


def _short(name: str, length: int = 40) -> str:
    return name if len(name) <= length else name[:length - 1] + '…'


def _safe_stem(name: Optional[str]) -> str:
    stem = osp.splitext(osp.basename(name or ''))[0]
    stem = re.sub(r'[^A-Za-z0-9_.-]+', '_', stem).strip('._')
    return stem[:64] or 'image'


class WebDemo:
    """The web demo's model and its answer to a request.

    Requests run one at a time (a lock): the model keeps the embeddings of
    the last class list, and the next request with the same list and
    templates reuses them.

    Args:
        segmenter: The inferencer (as ``tools/infer.py`` builds it).
        out_dir: Where each request's pictures go (a folder per request;
            the last :data:`KEPT_RESULTS` are kept).
        class_names: The class names the page starts with (default: the
            model's own classes).
        examples: Images with class names the page offers.
        title: The page's heading.
        description: Markdown under the heading (e.g. the model's origin).
        max_classes: Most class names a request may give.
        max_templates: Most prompt templates a request may give.
        memory_budget: Bytes the class scores of a request may take (see
            :func:`~cascade_clip_runtime.scores.score_memory_bytes`);
            default: half the memory the device has free when the request
            comes.
        threshold: The page's starting probability below which a pixel is
            unlabelled (0: every pixel takes a class).
        distractors: The page's starting distractors (a class list's name
            or names; empty: none).
    """

    def __init__(self,
                 segmenter: OpenVocabularySegmenter,
                 out_dir: str,
                 class_names: Optional[Sequence[str]] = None,
                 examples: Sequence[Example] = (),
                 title: str = 'Cascade-CLIP: zero-shot segmentation',
                 description: str = '',
                 max_classes: int = MAX_CLASSES,
                 max_templates: int = MAX_TEMPLATES,
                 memory_budget: Optional[int] = None,
                 threshold: float = 0.0,
                 distractors: str = ''):
        self.segmenter = segmenter
        self.out_dir = out_dir
        # The classes of the training: the model's own change with every
        # request.
        trained = segmenter.backend.model_classes
        names = list(trained['names'] or [])
        seen = set(trained['seen'])
        self.training = {
            name: 'seen' if i in seen else 'unseen'
            for i, name in enumerate(names)
        }
        self.class_text = ', '.join(class_names or names)
        self.default_templates = resolve_templates(
            segmenter.cfg.model.get('prompt_templates')
            or segmenter.backend.templates)
        self.examples = list(examples)
        self.title = title
        self.description = description
        self.max_classes = max_classes
        self.max_templates = max_templates
        self.memory_budget = memory_budget
        check_threshold(threshold)
        self.threshold = threshold
        self.distractor_text = distractors
        self._lock = threading.Lock()
        self._folders = RotatingFolders(out_dir, KEPT_RESULTS)

    @property
    def template_text(self) -> str:
        """The model's prompt templates, one per line."""
        return '\n'.join(self.default_templates)

    def segment(self,
                image: Union[str, np.ndarray, None],
                class_text: Optional[str],
                template_text: Optional[str] = None,
                image_name: Optional[str] = None,
                progress: Optional[Progress] = None,
                threshold: Optional[float] = None,
                distractor_text: Optional[str] = None) -> DemoOutput:
        """Segments an image into the typed class names and draws it.

        Bad input (no image, an unreadable or too small one, no or
        repeated class names, bad templates, more classes than the limits
        or the memory allow) and running out of memory give a
        :class:`DemoOutput` whose message says what is wrong and what to
        do; only a bug raises.

        Args:
            image: An image file, or an ``(H, W, 3)`` uint8 RGB array.
            class_text: Class names, as typed: separated by commas or new
                lines, or a class list's name (see
                :func:`~cascade_clip_runtime.classes.parse_class_list`;
                files are never read).
            template_text: Prompt templates, as typed
                (:func:`parse_template_text`); empty: the model's.
            image_name: The name the person knows the image by (in
                messages and file names; default: the file's).
            progress: Called with ``(fraction done, what runs now)``.
            threshold: Probability below which a pixel is unlabelled (0 or
                ``None``: none is).
            distractor_text: Distractors, as typed: a class list's name or
                names (see :func:`~cascade_clip_runtime.classes.
                parse_distractors`; files are never read).
        """
        start = time.perf_counter()
        step = progress or (lambda fraction, text: None)
        rule = (threshold or None, distractor_text)
        with self._lock:
            try:
                output = self._segment(image, class_text, template_text,
                                       image_name, step, rule)
            except RequestError as err:
                return DemoOutput(message=f'error: {err}')
            except (MemoryError, RuntimeError) as err:
                if not is_out_of_memory(err):
                    raise
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
                return DemoOutput(
                    message='error: out of memory: give fewer class names '
                    'or a smaller image')
        output.seconds = time.perf_counter() - start
        output.message += f' ({output.seconds:.2f} s)'
        return output

    def _read(self, image: Union[str, np.ndarray, None],
              name: Optional[str]) -> Tuple[np.ndarray, str]:
        if image is None or (isinstance(image, str) and not image):
            raise RequestError(NO_IMAGE)
        if not isinstance(image, str):
            try:
                return check_image(image), name or 'image'
            except ValueError as err:
                raise RequestError(error_line(err)) from err
        name = name or osp.basename(image)
        try:
            return read_image(image), name
        except (OSError, ValueError) as err:
            message = error_line(err).replace(image, name)
            raise RequestError(f'{message}; give a JPEG, PNG or another '
                               'image file') from err

    def _names(self, class_text: Optional[str]) -> List[str]:
        backend = self.segmenter.backend
        try:
            names = parse_class_list(
                class_text or '', backend.class_lists, read_files=False)
        except ValueError as err:
            raise RequestError(NO_CLASSES) from err
        try:
            check_class_names(names)
        except ValueError as err:
            raise RequestError(error_line(err)) from err
        return names

    def _check(self, names: List[str], templates: List[str], image: np.ndarray,
               name: str) -> None:
        if len(names) > self.max_classes:
            raise RequestError(
                f'{len(names)} class names: this server segments into at '
                f'most {self.max_classes} at once; give fewer')
        if len(templates) > self.max_templates:
            raise RequestError(
                f'{len(templates)} prompt templates: this server takes at '
                f'most {self.max_templates}; give fewer')
        backend = self.segmenter.backend
        try:
            inputs, _ = backend.prepare(image, name)
        except ValueError as err:
            raise RequestError(error_line(err)) from err
        height, width = inputs.shape[-2:]
        need = score_memory_bytes(
            len(names), height, width, backend.crop, backend.stride,
            backend.windows_per_batch)
        budget = self.memory_budget
        if budget is None:
            free = free_memory_bytes(backend.model.device)
            budget = None if free is None else int(FREE_MEMORY_SHARE * free)
        if budget is not None and need > budget:
            raise RequestError(
                f'{len(names)} classes on {name} ({width}x{height} as the '
                f'model sees it) need about {_gib(need)} for their scores, '
                f'more than the {_gib(budget)} this server allows: give '
                'fewer class names or a smaller image')

    def _segment(self, image, class_text, template_text, image_name,
                 step: Progress, rule: tuple) -> DemoOutput:
        step(0.0, 'reading the image')
        image, name = self._read(image, image_name)
        names = self._names(class_text)
        threshold, distractors = rule
        try:
            templates = parse_template_text(template_text,
                                            self.default_templates)
            check_threshold(threshold)
            distractors = parse_distractors(
                distractors,
                self.segmenter.backend.class_lists,
                names,
                read_files=False)
        except ValueError as err:
            raise RequestError(error_line(err)) from err
        self._check(names + distractors, templates, image, name)
        height, width = image.shape[:2]
        step(
            0.2, f'segmenting the {width}x{height} image into '
            f'{len(names)} classes')
        segmentation = self.segmenter(
            image,
            names,
            templates,
            threshold=threshold,
            distractors=distractors)
        step(0.9, 'drawing')
        folder = self._folders.next()
        stem = _safe_stem(name)
        mask, overlay = self.segmenter.save(
            image, segmentation, folder, stem, fit_legend=True)
        labels = write_label_png(segmentation.labels,
                                 self.segmenter.colours(names),
                                 osp.join(folder, f'{stem}_labels.png'))
        shares = segmentation.shares
        order = sorted(range(len(names)), key=lambda i: -shares[names[i]])
        table = [[
            i, names[i],
            round(100 * shares[names[i]], 2),
            self.training.get(names[i], '')
        ] for i in order]
        present = [_short(names[i]) for i in order if shares[names[i]] > 0]
        found = ', '.join(present[:5]) + (', ...' if len(present) > 5 else '')
        message = (f'{len(present)} of {len(names)} classes in {name} '
                   f'({width}x{height}): {found}')
        unlabelled = segmentation.unlabelled
        if unlabelled is not None:
            # its row's index is its value in the label PNG; in its place
            # by share, as the legend has it
            table.append([
                label_png_value(len(names)), 'unlabelled',
                round(100 * unlabelled, 2), ''
            ])
            table.sort(key=lambda row: -row[2])
            message += f'; unlabelled {100 * unlabelled:.1f}%'
        return DemoOutput(
            message=message,
            ok=True,
            overlay=overlay,
            files=[labels, mask],
            table=table)
