"""The web demo: a page where a person picks or uploads an image, types
class names and sees the segmentation, drawn as ``tools/infer.py`` draws
it. ``tools/web_demo.py`` is a thin command line over this module.

:class:`WebDemo` holds an :class:`~.inference.OpenVocabularySegmenter` and
answers one request with :meth:`WebDemo.segment`, a plain function that
needs no browser; :func:`build_app` puts it on a Gradio page. Gradio, the
optional ``demo`` extra (``pip install -e ".[demo]"``), is imported only
by :func:`build_app`.
"""
import logging
import os
import os.path as osp
import re
import shutil
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from PIL import Image

from ..models.segmentors import sliding_windows
from ..models.text_embeddings import (TEMPLATES, check_open_vocabulary,
                                      resolve_templates)
from ..structures import DATASET_CLASSES, ZeroShotSplit, class_palette
from ..utils.cli import error_line
from ..utils.image_files import read_image
from .inference import OpenVocabularySegmenter, save_segmentation

logger = logging.getLogger(__name__)

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

# Small pictures (the shapes scenes are 128 pixels) shown large, with
# sharp pixels.
PAGE_CSS = """
#image img, #overlay img {
  image-rendering: pixelated;
  width: 100%;
  height: 100%;
  object-fit: contain;
}
"""
IMAGE_HEIGHT = 360


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
        overlay: The overlay picture (``<stem>_overlay.png`` of
            :func:`~.inference.save_segmentation`).
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


def parse_class_text(text: Optional[str]) -> List[str]:
    """Class names from the page's text box: separated by commas or new
    lines, blanks dropped; a single name of a known class list
    (``voc20``, ``ade20k150``, ...) stands for that list. File paths are
    never read."""
    names = [
        name.strip() for name in re.split(r'[,\n]', text or '')
        if name.strip()
    ]
    if len(names) == 1 and names[0] in DATASET_CLASSES:
        return list(DATASET_CLASSES[names[0]])
    return names


def parse_template_text(text: Optional[str],
                        default: Sequence[str]) -> List[str]:
    """Prompt templates from the page's text box: one per line with
    ``{}`` for the class name, ``single`` or ``multi`` (see
    :func:`~cascade_clip.models.text_embeddings.resolve_templates`), or
    ``default`` when empty."""
    text = (text or '').strip()
    if not text:
        return list(default)
    if text in TEMPLATES:
        return resolve_templates(text)
    return resolve_templates(
        [line.strip() for line in text.splitlines() if line.strip()])


def score_memory_bytes(test_cfg: dict, num_classes: int, height: int,
                       width: int) -> int:
    """Bytes of the class scores a model holds to segment an ``height x
    width`` input into ``num_classes`` classes with its ``test_cfg``: the
    float32 scores of the whole input and, in sliding-window mode, those
    of one batch of windows at the window size (twice: the head's scores
    and their resized copy). A lower bound of what a request needs; it
    grows with the classes times the pixels."""
    pixels = height * width
    if test_cfg.get('mode', 'whole') != 'slide':
        return 4 * num_classes * 2 * pixels
    crop = tuple(test_cfg['crop_size'])
    windows = len(
        sliding_windows(height, width, crop, tuple(test_cfg['stride'])))
    per_batch = min(windows, test_cfg.get('windows_per_batch') or windows)
    return 4 * num_classes * (pixels + 2 * per_batch * crop[0] * crop[1])


def free_memory_bytes(device: torch.device) -> Optional[int]:
    """Memory free on ``device`` now: CUDA's free memory, or the system's
    available memory (Linux); ``None`` where unknown."""
    if device.type == 'cuda':
        return torch.cuda.mem_get_info(device)[0]
    try:
        with open('/proc/meminfo') as f:
            for line in f:
                if line.startswith('MemAvailable:'):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def is_out_of_memory(error: BaseException) -> bool:
    """Whether an error is a failed allocation: CUDA's out-of-memory error
    (a ``RuntimeError``), the CPU allocator's ``RuntimeError`` or Python's
    ``MemoryError``."""
    if isinstance(error, (MemoryError, torch.cuda.OutOfMemoryError)):
        return True
    text = str(error)
    return isinstance(error,
                      RuntimeError) and ('out of memory' in text
                                         or "can't allocate memory" in text)


def _gib(size: float) -> str:
    return f'{size / 2**30:.1f} GiB' if size >= 2**28 else \
        f'{size / 2**20:.0f} MiB'


def write_label_png(labels: np.ndarray, colours: np.ndarray, path: str) -> str:
    """Writes ``(H, W)`` class indices as a PNG whose pixel values are the
    indices: 8-bit with the classes' colours as its palette (a viewer shows
    the coloured mask) up to 256 classes, 16-bit grey beyond."""
    if len(colours) <= 256:
        picture = Image.fromarray(labels.astype(np.uint8))
        palette = np.zeros((256, 3), np.uint8)
        palette[:len(colours)] = colours
        picture.putpalette(palette.ravel().tolist())
    else:
        picture = Image.fromarray(labels.astype(np.uint16))
    picture.save(path)
    return path


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
            :func:`score_memory_bytes`); default: half the memory the
            device has free when the request comes.
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
                 memory_budget: Optional[int] = None):
        self.segmenter = segmenter
        self.out_dir = out_dir
        # The classes and templates of the training, from the config: the
        # model's own change with every request.
        model_cfg = segmenter.cfg.model
        split = ZeroShotSplit.build(
            model_cfg.get('class_names'), model_cfg.get('num_classes'),
            model_cfg.get('seen_classes'), model_cfg.get('unseen_classes'))
        trained = list(split.class_names or [])
        self.training = {
            name: 'unseen' if i in split.unseen else 'seen'
            for i, name in enumerate(trained)
        }
        self.class_text = ', '.join(class_names or trained)
        self.default_templates = resolve_templates(
            model_cfg.get('prompt_templates')
            or segmenter.model.embeddings.templates)
        self.examples = list(examples)
        self.title = title
        self.description = description
        self.max_classes = max_classes
        self.max_templates = max_templates
        self.memory_budget = memory_budget
        self._lock = threading.Lock()
        self._requests = 0

    @property
    def template_text(self) -> str:
        """The model's prompt templates, one per line."""
        return '\n'.join(self.default_templates)

    def segment(self,
                image: Union[str, np.ndarray, None],
                class_text: Optional[str],
                template_text: Optional[str] = None,
                image_name: Optional[str] = None,
                progress: Optional[Progress] = None) -> DemoOutput:
        """Segments an image into the typed class names and draws it.

        Bad input (no image, an unreadable or too small one, no or
        repeated class names, bad templates, more classes than the limits
        or the memory allow) and running out of memory give a
        :class:`DemoOutput` whose message says what is wrong and what to
        do; only a bug raises.

        Args:
            image: An image file, or an ``(H, W, 3)`` BGR array.
            class_text: Class names, as typed (:func:`parse_class_text`).
            template_text: Prompt templates, as typed
                (:func:`parse_template_text`); empty: the model's.
            image_name: The name the person knows the image by (in
                messages and file names; default: the file's).
            progress: Called with ``(fraction done, what runs now)``.
        """
        start = time.perf_counter()
        step = progress or (lambda fraction, text: None)
        with self._lock:
            try:
                output = self._segment(image, class_text, template_text,
                                       image_name, step)
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
            array = np.asarray(image)
            if array.ndim != 3 or array.shape[2] != 3:
                raise RequestError(
                    f'the image has shape {array.shape}; give an (H, W, 3) '
                    'colour image')
            return array, name or 'image'
        name = name or osp.basename(image)
        try:
            return read_image(image), name
        except (OSError, ValueError) as err:
            message = error_line(err).replace(image, name)
            raise RequestError(f'{message}; give a JPEG, PNG or another '
                               'image file') from err

    def _check(self, names: List[str], templates: List[str], image: np.ndarray,
               name: str) -> None:
        if not names:
            raise RequestError(NO_CLASSES)
        try:
            check_open_vocabulary(names)
        except ValueError as err:
            raise RequestError(error_line(err)) from err
        if len(names) > self.max_classes:
            raise RequestError(
                f'{len(names)} class names: this server segments into at '
                f'most {self.max_classes} at once; give fewer')
        if len(templates) > self.max_templates:
            raise RequestError(
                f'{len(templates)} prompt templates: this server takes at '
                f'most {self.max_templates}; give fewer')
        model = self.segmenter.model
        height, width = self.segmenter.pipeline(
            dict(img=image))['inputs'].shape[-2:]
        side = getattr(model.backbone, 'patch_size', 1)
        if min(height, width) < side:
            raise RequestError(
                f'{name} is {width}x{height} pixels as the model sees it; '
                f'it needs at least {side} a side: give a larger image')
        need = score_memory_bytes(model.test_cfg, len(names), height, width)
        budget = self.memory_budget
        if budget is None:
            free = free_memory_bytes(model.device)
            budget = None if free is None else int(FREE_MEMORY_SHARE * free)
        if budget is not None and need > budget:
            raise RequestError(
                f'{len(names)} classes on {name} ({width}x{height} as the '
                f'model sees it) need about {_gib(need)} for their scores, '
                f'more than the {_gib(budget)} this server allows: give '
                'fewer class names or a smaller image')

    def _segment(self, image, class_text, template_text, image_name,
                 step: Progress) -> DemoOutput:
        step(0.0, 'reading the image')
        image, name = self._read(image, image_name)
        names = parse_class_text(class_text)
        try:
            templates = parse_template_text(template_text,
                                            self.default_templates)
        except ValueError as err:
            raise RequestError(error_line(err)) from err
        self._check(names, templates, image, name)
        step(0.1, f'embedding {len(names)} class names')
        model = self.segmenter.model
        # The segmenter sets the same classes again and keeps this cache.
        model.set_classes(names, templates)
        model.get_class_embeddings()
        height, width = image.shape[:2]
        step(0.4, f'segmenting the {width}x{height} image')
        segmentation = self.segmenter(image, names, templates)
        step(0.9, 'drawing')
        folder = self._next_folder()
        stem = _safe_stem(name)
        mask, overlay = save_segmentation(image, segmentation, folder, stem)
        colours = class_palette(segmentation.class_names)
        labels = write_label_png(segmentation.labels, colours,
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
        return DemoOutput(
            message=message,
            ok=True,
            overlay=overlay,
            files=[labels, mask],
            table=table)

    def _next_folder(self) -> str:
        self._requests += 1
        folder = osp.join(self.out_dir, f'{self._requests:06d}')
        os.makedirs(folder, exist_ok=True)
        old = osp.join(self.out_dir, f'{self._requests - KEPT_RESULTS:06d}')
        if osp.isdir(old):
            shutil.rmtree(old, ignore_errors=True)
        return folder


def build_app(demo: WebDemo):
    """The Gradio page of ``demo`` (a ``gr.Blocks``; call ``launch``).

    Inputs: the image (upload, paste or an example), the class names and
    the prompt templates; outputs: the overlay with its legend, a line
    saying what was found (or what is wrong), the table of class shares
    and the label mask to download. Every request goes through
    :meth:`WebDemo.segment`, one at a time.
    """
    import gradio as gr

    def run(image: Optional[dict],
            class_text: str,
            template_text: str,
            progress=gr.Progress()):
        # The image arrives as Gradio's file record (the event does not
        # preprocess it), so that an unreadable file reaches read_image
        # and its message instead of failing in Gradio.
        path = image.get('path') if isinstance(image, dict) else None
        name = image.get('orig_name') if isinstance(image, dict) else None
        try:
            output = demo.segment(
                path,
                class_text,
                template_text,
                name,
                progress=lambda f, text: progress(f, desc=text))
        except Exception:  # a bug: the log has it, the page a line
            logger.exception('the web demo failed on a request')
            output = DemoOutput(
                message='error: the server failed on this request (its '
                'log has the details); try again or another image')
        return (output.overlay, output.message, output.table
                or None, output.files or None)

    # Gradio's copies of uploads and results older than a day go, hourly.
    with gr.Blocks(
            title=demo.title, analytics_enabled=False,
            delete_cache=(3600, 86400)) as app:
        gr.Markdown(f'# {demo.title}\n\n{demo.description}')
        with gr.Row():
            with gr.Column():
                image = gr.Image(
                    label='image',
                    type='filepath',
                    sources=['upload', 'clipboard'],
                    height=IMAGE_HEIGHT,
                    elem_id='image')
                classes = gr.Textbox(
                    value=demo.class_text,
                    label='class names (commas or new lines)',
                    lines=3,
                    elem_id='classes')
                with gr.Accordion('prompt templates', open=False):
                    templates = gr.Textbox(
                        value=demo.template_text,
                        label='one per line, {} for the class name; or '
                        '"single" / "multi"',
                        lines=2,
                        elem_id='templates')
                button = gr.Button(
                    'Segment', variant='primary', elem_id='segment')
                if demo.examples:
                    gr.Examples([[e.image, e.class_names]
                                 for e in demo.examples], [image, classes],
                                label='examples (click one, then Segment)',
                                elem_id='examples')
            with gr.Column():
                overlay = gr.Image(
                    label='segmentation (legend: classes by area)',
                    type='filepath',
                    format='png',
                    interactive=False,
                    height=IMAGE_HEIGHT,
                    elem_id='overlay')
                message = gr.Markdown(elem_id='message')
                table = gr.Dataframe(
                    headers=['index', 'class', 'share (%)', 'training'],
                    datatype=['number', 'str', 'number', 'str'],
                    label='class shares',
                    interactive=False,
                    elem_id='shares')
                files = gr.File(
                    label='label mask (pixel value = class index) and '
                    'coloured mask',
                    file_count='multiple',
                    interactive=False,
                    elem_id='downloads')
        button.click(
            run, [image, classes, templates], [overlay, message, table, files],
            preprocess=False,
            concurrency_limit=1)
    return app


def launch_app(demo: WebDemo,
               host: str = '127.0.0.1',
               port: Optional[int] = None) -> Tuple[Any, str]:
    """Builds the page of ``demo`` and serves it without blocking.

    Args:
        demo: The model and its limits.
        host: Address to serve on.
        port: Port (``None``: Gradio's default, 7860, or the next free).

    Returns:
        The running ``gr.Blocks`` (``block_thread()`` waits on it,
        ``close()`` stops it) and its URL.
    """
    app = build_app(demo)
    app.queue(default_concurrency_limit=1)
    _, url, _ = app.launch(
        server_name=host,
        server_port=port,
        prevent_thread_lock=True,
        ssr_mode=False,
        quiet=True,
        css=PAGE_CSS)
    return app, url
