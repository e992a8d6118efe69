"""Pixels of no given class, measured in the shapes world, where the truth of
the background is known: for each way of leaving pixels unlabelled (none;
a threshold on the best class's probability, over a range; background as an
ordinary class name; distractor classes; a model trained with background as
a class), the share of background pixels given no shape name, the share
of shape pixels that keep their right class, and mIoU(S), mIoU(U), hIoU on
the shapes (background pixels ignored, as the world's evaluation ignores
them; an unlabelled shape pixel is a miss). ``tools/unlabelled_rule.py`` is
a thin layer over :func:`measure_unlabelled_rule`; docs/inference.md holds
its table and plot.

Every approach runs through the one inference path (the
``OpenVocabularySegmenter`` of ``tools/infer.py``), image by image, on the
validation scenes that ``tools/demo.py`` evaluates.
"""
import os.path as osp
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Sequence

import numpy as np
from PIL import Image

from ..apis.inference import OpenVocabularySegmenter
from ..synthetic.world import CLASSES, UNSEEN, write_shapes_voc

# The thresholds of the sweep (0: every pixel takes a class).
THRESHOLDS = (0.0, 0.02, 0.05, 0.1, 0.13, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)
BACKGROUND = 'background'


@dataclass
class RuleResult:
    """One approach's figures (percent).

    Attributes:
        approach: What was done.
        model: Which model.
        threshold: Its threshold (``None``: no threshold).
        background_unnamed: Background pixels given no shape's name
            (unlabelled, or the background class).
        shapes_kept: Shape pixels given their right class.
        miou_seen, miou_unseen, hiou: On the 20 shapes, background ignored.
    """
    approach: str
    model: str
    threshold: Optional[float]
    background_unnamed: float
    shapes_kept: float
    miou_seen: float
    miou_unseen: float
    hiou: float


@dataclass
class RuleMeasurement:
    """What :func:`measure_unlabelled_rule` measured.

    Attributes:
        scenes: Validation scenes.
        results: One :class:`RuleResult` per approach.
        models: Model name -> checkpoint.
    """
    scenes: int
    results: List[RuleResult] = field(default_factory=list)
    models: Dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def validation_scenes(data_root: str) -> List[tuple]:
    """``(image path, (H, W) raw label)`` of the world's validation scenes:
    0 background, ``1 + class id`` on a shape."""
    names = open(osp.join(data_root, 'ImageSets', 'Segmentation',
                          'val.txt')).read().split()
    return [(osp.join(data_root, 'JPEGImages', f'{name}.jpg'),
             np.asarray(
                 Image.open(
                     osp.join(data_root, 'SegmentationClass', f'{name}.png'))))
            for name in names]


class ShapeScores:
    """Sums, over scenes, of what the figures of :class:`RuleResult` count:
    per shape class its true positives, false positives and false negatives
    (background pixels ignored), and the pixels of each share."""

    def __init__(self):
        self.tp = np.zeros(len(CLASSES))
        self.fp = np.zeros(len(CLASSES))
        self.fn = np.zeros(len(CLASSES))
        self.background = self.background_unnamed = 0
        self.shapes = self.shapes_kept = 0

    def add(self, truth: np.ndarray, shape_ids: np.ndarray) -> None:
        """One scene: ``truth`` its raw labels, ``shape_ids`` the predicted
        shape class per pixel (-1 where no shape was named)."""
        background = truth == 0
        self.background += int(background.sum())
        self.background_unnamed += int((shape_ids[background] < 0).sum())
        shape = ~background
        truth_ids = truth.astype(np.int64) - 1
        self.shapes += int(shape.sum())
        self.shapes_kept += int((shape_ids[shape] == truth_ids[shape]).sum())
        for k in range(len(CLASSES)):
            predicted = (shape_ids == k) & shape
            actual = truth_ids == k
            self.tp[k] += int((predicted & actual).sum())
            self.fp[k] += int((predicted & ~actual).sum())
            self.fn[k] += int((~predicted & actual).sum())

    def result(self, approach: str, model: str,
               threshold: Optional[float]) -> RuleResult:
        present = (self.tp + self.fn) > 0
        iou = np.where(present,
                       self.tp / np.maximum(self.tp + self.fp + self.fn, 1),
                       np.nan)
        unseen = np.zeros(len(CLASSES), bool)
        unseen[list(UNSEEN)] = True
        seen_miou = 100 * np.nanmean(iou[~unseen])
        unseen_miou = 100 * np.nanmean(iou[unseen])
        hiou = (2 * seen_miou * unseen_miou /
                (seen_miou + unseen_miou) if seen_miou + unseen_miou else 0.0)
        return RuleResult(approach, model, threshold,
                          100 * self.background_unnamed / self.background,
                          100 * self.shapes_kept / self.shapes,
                          float(seen_miou), float(unseen_miou), float(hiou))


def _shape_ids(labels: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """The shape class of each pixel's label (-1: unlabelled or a name that
    is not a shape's, e.g. the background)."""
    table = np.array([CLASSES.index(n) if n in CLASSES else -1 for n in names])
    return np.where(labels >= 0, table[np.maximum(labels, 0)], -1)


def measure_approach(segmenter: OpenVocabularySegmenter,
                     scenes: Sequence[tuple],
                     names: Sequence[str],
                     approach: str,
                     model: str,
                     threshold: Optional[float] = None,
                     distractors: Optional[str] = None) -> RuleResult:
    """One approach on every scene: ``names`` the class names given, with
    the model's own prompt templates."""
    templates = segmenter.cfg.model.get('prompt_templates')
    scores = ShapeScores()
    for image, truth in scenes:
        result = segmenter(
            image,
            list(names),
            templates,
            threshold=threshold or None,
            distractors=distractors)
        scores.add(truth, _shape_ids(result.labels, names))
    return scores.result(approach, model, threshold)


def measure_unlabelled_rule(checkpoint: str,
                            data_dir: str,
                            background_checkpoint: Optional[str] = None,
                            thresholds: Sequence[float] = THRESHOLDS,
                            distractors: Sequence[str] = ('coco_stuff171', ),
                            device: str = 'cpu',
                            log=print) -> RuleMeasurement:
    """Measures the approaches on the world's 200 validation scenes.

    Args:
        checkpoint: A model of the 20 shapes (the demo's, the web demo's
            until it learned the background).
        data_dir: Where the world is written (``tools/demo.py``'s
            ``data/``; the same scenes, reused when there).
        background_checkpoint: A model trained with the background as a
            class (``shapes21``), if any.
        thresholds: The sweep.
        distractors: Distractor lists tried on the 20-shape model.
        device: Where the models run.
        log: Where progress lines go.
    """
    data_root = write_shapes_voc(data_dir)
    scenes = validation_scenes(data_root)
    measurement = RuleMeasurement(len(scenes))
    runs = [('shapes20', checkpoint, list(CLASSES))]
    if background_checkpoint:
        runs.append(
            ('shapes21', background_checkpoint, [BACKGROUND] + list(CLASSES)))
    for model, path, names in runs:
        measurement.models[model] = path
        segmenter = OpenVocabularySegmenter(path, device=device)
        knows_background = BACKGROUND in names
        for threshold in thresholds:
            if knows_background:
                approach = 'background a class' + (', threshold'
                                                   if threshold else '')
            else:
                approach = 'threshold' if threshold else 'none'
            measurement.results.append(
                measure_approach(segmenter, scenes, names, approach, model,
                                 threshold))
            log(measurement.results[-1])
        if knows_background:
            continue
        measurement.results.append(
            measure_approach(segmenter, scenes, names + [BACKGROUND],
                             'background a class name', model))
        log(measurement.results[-1])
        for listed in distractors:
            measurement.results.append(
                measure_approach(
                    segmenter,
                    scenes,
                    names,
                    f'distractors {listed}',
                    model,
                    distractors=listed))
            log(measurement.results[-1])
    return measurement


def format_rule_table(measurement: RuleMeasurement) -> str:
    """The results as a markdown table."""
    lines = [
        '| model | approach | threshold | background unnamed | shape pixels '
        'kept | mIoU(S) | mIoU(U) | hIoU |',
        '|---|---|---|---|---|---|---|---|'
    ]
    for r in measurement.results:
        threshold = '' if not r.threshold else f'{r.threshold:g}'
        lines.append(f'| {r.model} | {r.approach} | {threshold} | '
                     f'{r.background_unnamed:.1f}% | {r.shapes_kept:.1f}% | '
                     f'{r.miou_seen:.2f} | {r.miou_unseen:.2f} | '
                     f'{r.hiou:.2f} |')
    return '\n'.join(lines)


def plot_rule(measurement: RuleMeasurement, path: str) -> str:
    """The two shares over the threshold, one line pair per model, as a
    PNG."""
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot as plt
    figure, axis = plt.subplots(figsize=(7, 4.2))
    styles = {'shapes20': '-', 'shapes21': '--'}
    for model, style in styles.items():
        rows = [
            r for r in measurement.results
            if r.model == model and r.approach in (
                'none', 'threshold', 'background a class',
                'background a class, threshold')
        ]
        if not rows:
            continue
        x = [r.threshold or 0.0 for r in rows]
        axis.plot(
            x, [r.background_unnamed for r in rows],
            style,
            color='tab:blue',
            marker='o',
            label=f'{model}: background pixels given no shape name')
        axis.plot(
            x, [r.shapes_kept for r in rows],
            style,
            color='tab:orange',
            marker='s',
            label=f'{model}: shape pixels keeping their class')
    axis.set_xlabel('threshold (probability of the best class)')
    axis.set_ylabel('% of pixels')
    axis.set_ylim(0, 100)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8, loc='lower left')
    axis.set_title(
        f'Unlabelled rule on the shapes world ({measurement.scenes} scenes)')
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
