"""Segmenting an image into any class names, whatever runs the network.

:class:`Segmenter` is the one inference path: it reads and checks the
image, asks its backend (PyTorch in ``cascade_clip``, onnxruntime in
:mod:`.onnx_backend`) for the normalised input and the scores of each window,
merges the windows, resizes the scores back to the image and takes the
best class per pixel (:mod:`.scores`), and draws the pictures
(:mod:`.drawing`)::

    Segmenter.__call__(): read_image() / check_image()
        -> backend.use_classes() -> backend.prepare()
        -> slide_scores(backend.window_scores) -> resized_argmax()
        -> Segmentation (labels, shares)
    Segmenter.save(): class_palette() -> legend_by_area()
        -> save_label_pictures()
"""
import os.path as osp
from dataclasses import dataclass
from typing import (Dict, Iterator, List, Mapping, Optional, Sequence, Tuple,
                    Union)

import numpy as np

from .classes import check_class_names, parse_class_list, parse_distractors
from .drawing import class_palette, legend_by_area, save_label_pictures
from .files import (OUTPUT_SUFFIXES, InferencePlan, check_outputs_free,
                    plan_inference)
from .images import check_image, read_image
from .scores import (UNLABELLED, Array, ArrayOps, check_threshold,
                     resized_argmax, slide_scores, unlabel)

Templates = Union[str, Sequence[str], None]
Names = Union[str, Sequence[str], None]  # names, or text that names them
# (top, bottom, left, right) rows and columns of padding around an input
Padding = Tuple[int, int, int, int]


@dataclass
class Segmentation:
    """One image's segmentation.

    Attributes:
        labels: ``(H, W)`` int64 class index per pixel, at the image's
            size.
        class_names: The classes the indices refer to.
        shares: Fraction of the pixels given to each class, in class order.
        unlabelled: Fraction of the pixels given none of the classes
            (:data:`~.scores.UNLABELLED` in ``labels``) under the
            unlabelled rule; ``None`` where no rule was asked for.
    """
    labels: np.ndarray
    class_names: List[str]
    shares: Dict[str, float]
    unlabelled: Optional[float] = None


class Backend:
    """What runs the network for a :class:`Segmenter` (the interface; the
    PyTorch and onnxruntime backends implement it).

    Attributes:
        ops: The array operations of the backend's arrays.
        crop: Window size ``(h, w)``; ``None``: the whole input at once.
        stride: Window step ``(h, w)``.
        windows_per_batch: Windows per call of :meth:`window_scores`
            (``None``: all of an image's).
        class_lists: Named class lists a class text may name (``voc20``).
        palettes: Class lists drawn in their dataset's colours.
        model_classes: The model's training classes and which were seen:
            ``{'names': [...] or None, 'seen': [ids]}``.
        seen_score_shift: What the model subtracts from the sigmoid of a
            seen class (the scores are ``sigmoid - shift``).
    """
    ops: ArrayOps
    crop: Optional[Tuple[int, int]] = None
    stride: Optional[Tuple[int, int]] = None
    windows_per_batch: Optional[int] = None
    class_lists: Mapping[str, Sequence[str]] = {}
    palettes: Mapping[Tuple[str, ...], np.ndarray] = {}
    model_classes: Mapping[str, object] = {}
    seen_score_shift: float = 0.0

    def use_classes(self, class_names: List[str], templates: Templates,
                    unseen: Sequence[str]) -> None:
        """Makes the next scores those of ``class_names``, embedded with
        ``templates`` (``None``: the backend's default), the model's
        seen-class shift on all but ``unseen``; the embeddings of the
        last list are kept."""
        raise NotImplementedError

    def prepare(self, image: np.ndarray, source: str) -> Tuple[Array, Padding]:
        """The normalised input ``(1, 3, h, w)`` of an ``(H, W, 3)`` uint8
        RGB image after the test resize, and the padding added around it
        (``source`` names the image in errors)."""
        raise NotImplementedError

    def window_scores(self, windows: Array) -> Array:
        """Calibrated scores ``(N, K, h, w)`` of ``(N, 3, h, w)`` normalised
        windows at their size."""
        raise NotImplementedError

    def font(self, texts: Sequence[str]) -> Optional[str]:
        """A TrueType font file that draws ``texts`` (``None``:
        Pillow's)."""
        return None


def check_unseen(unseen: Sequence[str], class_names: Sequence[str]) -> None:
    """Unseen classes must be among the classes."""
    missing = sorted(set(unseen) - set(class_names))
    if missing:
        raise ValueError(f'unseen classes {missing} are not among the '
                         f'classes {list(class_names)}')


def score_shift(class_names: Sequence[str], unseen: Sequence[str],
                seen_score_shift: float) -> np.ndarray:
    """``(K,)`` float32: a model's seen-class shift on every class but
    ``unseen``."""
    check_unseen(unseen, class_names)
    unseen = set(unseen)
    seen = np.array([name not in unseen for name in class_names])
    return seen.astype(np.float32) * np.float32(seen_score_shift)


class Segmenter:
    """Segments images into any class names with a :class:`Backend`.

    Args:
        backend: What runs the network.
    """

    def __init__(self, backend: Backend):
        self.backend = backend

    def __call__(self,
                 image: Union[str, np.ndarray],
                 class_names: Sequence[str],
                 templates: Templates = None,
                 unseen: Optional[Sequence[str]] = None,
                 threshold: Optional[float] = None,
                 distractors: Names = None) -> Segmentation:
        """Segments an image into ``class_names``.

        By default every pixel takes the best of the classes. The
        unlabelled rule, off by default (as the paper's evaluation), leaves
        a pixel unlabelled (:data:`~.scores.UNLABELLED`) where its best
        class's probability is below ``threshold``, or where one of
        ``distractors`` wins it (docs/inference.md).

        Args:
            image: A file, or an ``(H, W, 3)`` uint8 RGB array.
            class_names: Two or more distinct names, or text that names
                them (see :meth:`class_names`).
            templates: ``'multi'``, ``'single'`` or a list of prompt
                templates (default: the backend's).
            unseen: Classes whose scores keep no seen-class shift (by
                default every class is seen: the shift then moves all
                scores alike and changes no label).
            threshold: A probability from 0 to 1.
            distractors: Classes that compete with ``class_names``: a class
                list's name, names, or text (see
                :func:`~.classes.parse_distractors`).
        """
        check_threshold(threshold)
        source = image if isinstance(image, str) else 'the image'
        image = read_image(image) if isinstance(image,
                                                str) else check_image(image)
        names = self.class_names(class_names)
        extra = parse_distractors(distractors, self.backend.class_lists, names)
        unseen = list(unseen or ())
        every = names + extra
        shift = score_shift(every, unseen, self.backend.seen_score_shift)
        backend = self.backend
        backend.use_classes(every, templates, unseen)
        inputs, (top, bottom, left, right) = backend.prepare(image, source)
        scores = self.scores(inputs, len(every))
        del inputs
        height, width = scores.shape[-2:]
        if top or bottom or left or right:
            scores = scores[:, :, top:height - bottom, left:width - right]
        best, labels = resized_argmax(scores, image.shape[:2], backend.ops)
        del scores
        labels = backend.ops.to_numpy(labels)[0]
        unlabelled = None
        if threshold is not None or extra:
            unlabel(labels,
                    backend.ops.to_numpy(best)[0], shift, len(names),
                    threshold)
            unlabelled = float((labels == UNLABELLED).mean())
        return Segmentation(labels, names, class_shares(labels, names),
                            unlabelled)

    def class_names(self, class_names: Union[str, Sequence[str]]) -> List[str]:
        """A class list, checked: a list of names, or text read by the
        rules of :func:`~.classes.parse_class_list` (names separated by
        commas or new lines, a class list of the backend such as
        ``voc20``, or a text file)."""
        if isinstance(class_names, str):
            names = parse_class_list(class_names, self.backend.class_lists)
        else:
            names = [str(name) for name in class_names]
        check_class_names(names)
        return names

    def scores(self, inputs: Array, num_classes: int) -> Array:
        """``(1, K, h, w)`` scores of a normalised input: its windows'
        merged, or the whole input's."""
        backend = self.backend
        if backend.crop is None:
            return backend.window_scores(inputs)
        return slide_scores(backend.window_scores, inputs, num_classes,
                            backend.crop, backend.stride,
                            backend.windows_per_batch, backend.ops)

    def model_unseen(self, class_names: Sequence[str]) -> List[str]:
        """The classes of ``class_names`` that the model did not train on
        as seen classes (its config's split)."""
        names = self.backend.model_classes.get('names')
        if names is None:
            raise ValueError(
                'the model has no class names (its config gave embeddings '
                'from a file): name the unseen classes')
        seen = {names[i] for i in self.backend.model_classes['seen']}
        return [name for name in class_names if name not in seen]

    def colours(self, class_names: Sequence[str]) -> np.ndarray:
        """``(K, 3)`` uint8 colours of the classes (see
        :func:`~.drawing.class_palette`)."""
        return class_palette(class_names, self.backend.palettes)

    def save(self,
             image: np.ndarray,
             segmentation: Segmentation,
             out_dir: str,
             stem: str,
             fit_legend: bool = False) -> Tuple[str, str]:
        """Writes ``<stem>_mask.png`` and ``<stem>_overlay.png`` of an
        ``(H, W, 3)`` uint8 RGB image and its segmentation into
        ``out_dir``: the classes in their colours, the overlay's legend
        naming the classes present by area (``fit_legend``: see
        :func:`~.drawing.save_label_pictures`)."""
        colours = self.colours(segmentation.class_names)
        legend = legend_by_area(
            segmentation.shares, colours, unlabelled=segmentation.unlabelled)
        font = self.backend.font([text for text, _ in legend])
        return save_label_pictures(
            image,
            segmentation.labels,
            legend,
            colours,
            out_dir,
            stem,
            font=font,
            fit_legend=fit_legend)

    def segment_files(self,
                      path: str,
                      class_names: Sequence[str],
                      out_dir: str,
                      templates: Templates = None,
                      unseen: Sequence[str] = (),
                      overwrite: bool = True,
                      plan: Optional[InferencePlan] = None,
                      threshold: Optional[float] = None,
                      distractors: Names = None) -> Iterator[dict]:
        """Segments an image or every image of a folder and saves the
        pictures, one result at a time.

        Each image gets ``<name>_mask.png`` and ``<name>_overlay.png`` in
        ``out_dir``; where two images share a name (``a.jpg``, ``a.png``)
        the extension stays in it (``a.jpg_mask.png``). When ``out_dir``
        is the folder itself, the pictures written there for its images
        are not taken as images.

        Args:
            path: An image or a folder of images.
            class_names: The classes.
            out_dir: Where the pictures go.
            templates: See :meth:`__call__`.
            unseen: See :meth:`__call__`.
            overwrite: Replace pictures that exist; ``False``: refuse
                before anything is read or written.
            plan: The files, if planned already (:func:`plan_inference`).
            threshold: See :meth:`__call__`.
            distractors: See :meth:`__call__`.

        Yields:
            Per image: ``image``, ``mask``, ``overlay`` (paths),
            ``shares`` and ``unlabelled`` (see :class:`Segmentation`);
            for an image of a folder that cannot be read,
            ``image`` and ``error`` (a single image given as ``path``
            raises instead).

        Raises:
            FileExistsError: an output exists and not ``overwrite``.
        """
        names = self.class_names(class_names)
        check_threshold(threshold)
        distractors = parse_distractors(distractors, self.backend.class_lists,
                                        names)
        plan = plan or plan_inference(path, out_dir)
        check_outputs_free(plan, overwrite)
        single = not osp.isdir(path)
        for image_path, (mask, overlay) in zip(plan.images, plan.outputs):
            try:
                image = read_image(image_path)
            except (OSError, ValueError) as err:
                if single:
                    raise
                yield dict(image=image_path, error=str(err))
                continue
            segmentation = self(image, names, templates, unseen, threshold,
                                distractors)
            stem = osp.basename(mask)[:-len(OUTPUT_SUFFIXES[0])]
            self.save(image, segmentation, out_dir, stem)
            yield dict(
                image=image_path,
                mask=mask,
                overlay=overlay,
                shares=segmentation.shares,
                unlabelled=segmentation.unlabelled)


def class_shares(labels: np.ndarray,
                 class_names: Sequence[str]) -> Dict[str, float]:
    """``{name: fraction of the pixels}`` of each class, in class order."""
    counts = np.bincount(
        labels[labels >= 0].ravel(), minlength=len(class_names))
    return {
        name: float(count) / labels.size
        for name, count in zip(class_names, counts)
    }
