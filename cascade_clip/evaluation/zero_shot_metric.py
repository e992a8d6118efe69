"""IoU metric split into seen and unseen classes for zero-shot segmentation."""
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.logging import print_log
from mmseg.evaluation import IoUMetric
from mmseg.registry import METRICS
from PIL import Image
from prettytable import PrettyTable

from ..structures import ClassRef, ZeroShotSplit, check_class_ids
from ..utils.atomic_files import write_atomic

JSON_NAME = 'zero_shot_metrics.json'
_TABLE_TITLES = (('seen', 'seen classes'), ('unseen', 'unseen classes'),
                 (None, 'classes in neither split'))
ALL_CLASSES_TITLE = 'all classes'
# How the tables' log messages begin: the per-class ones, the summary.
PER_CLASS_TABLE_TITLES = tuple(f'{title}:'
                               for title in [t for _, t in _TABLE_TITLES] +
                               [ALL_CLASSES_TITLE])
SUMMARY_TABLE_TITLE = 'zero-shot summary:'
# The per-class tables of the log (and console) show every class of a split
# up to this many; a longer one shows the SHOWN_EACH highest and lowest IoU,
# and every class is in TABLES_NAME (and the JSON) beside the JSON.
MAX_TABLE_ROWS = 40
SHOWN_EACH = 10
TABLES_NAME = 'per_class_iou.txt'
# Class names are cut to this many characters in the log's tables.
MAX_NAME_CHARS = 40


@METRICS.register_module()
class ZeroShotIoUMetric(IoUMetric):
    """mIoU over seen classes, over unseen classes, and their harmonic mean.

    ``compute_metrics`` returns, in percent rounded to 2 decimals: ``aAcc``
    (pixel accuracy), ``mIoU`` and ``mAcc`` over all classes, ``mIoU_seen``,
    and, when there are unseen classes, ``mIoU_unseen`` and
    ``hIoU = 2 * S * U / (S + U)`` (0 when ``S + U == 0``). Means leave out
    classes whose value is NaN (absent from both labels and predictions).

    The classes are split as the model's are: the metric builds a
    :class:`~cascade_clip.structures.ZeroShotSplit` from the same fields (a
    config hands both the same ``zero_shot_split``). Classes are given as
    ids, which index ``dataset_meta['classes']``, or as names. Ids that
    repeat, that are both seen and unseen, or that are negative are rejected
    at construction; ids past the last class and unknown names as soon as
    the dataset's classes are known. A class in neither split counts only
    in ``mIoU``, ``mAcc`` and ``aAcc``.

    With ``class_split=False`` (a dataset without a seen/unseen split, as in
    cross-dataset evaluation) the report has no split at all: ``aAcc``,
    ``mIoU`` and ``mAcc`` over all classes, one table titled "all classes",
    and no class labelled seen.

    Args:
        class_names: The classes, as the model takes them (a list, a setting
            such as ``'voc20'``, which also gives the unseen classes, or a
            text file); only their number is used, checked against the
            dataset's. Default: the dataset's classes.
        num_classes: The class count, instead of ``class_names``.
        seen_classes: Ids or names of the seen classes; by default every
            class that is not unseen.
        unseen_classes: Ids or names of the unseen classes; by default the
            setting's, else none (then the report has neither
            ``mIoU_unseen`` nor ``hIoU``).
        class_split: ``False`` for a dataset without a seen/unseen split
            (then no class may be given as unseen).
        json_dir: If set, the summary and per-class results are also written
            to ``json_dir/zero_shot_metrics.json``.
        ignore_index: Label value left out of the evaluation.
        nan_to_num: If set, per-class NaNs are replaced by this number (and so
            enter the means), as in :class:`IoUMetric`.
        beta: Passed to :class:`IoUMetric`.
        collect_device: Device results are gathered on across ranks,
            ``'cpu'`` or ``'gpu'``.
        output_dir: If set, prediction PNGs are written there, named as the
            images, in the dataset's raw ids (class k is k + 1 where the
            dataset reduces the zero label, as VOC's and ADE20K-150's do;
            16-bit where the ids pass 255, as ADE20K-847's).
        format_only: Only write predictions, compute nothing.
        prefix: Prefix of the metric names.
    """

    def __init__(self,
                 class_names: Union[str, Sequence[str], None] = None,
                 num_classes: Optional[int] = None,
                 seen_classes: Optional[Sequence[ClassRef]] = None,
                 unseen_classes: Optional[Sequence[ClassRef]] = None,
                 class_split: bool = True,
                 json_dir: Optional[str] = None,
                 ignore_index: int = 255,
                 nan_to_num: Optional[int] = None,
                 beta: int = 1,
                 collect_device: str = 'cpu',
                 output_dir: Optional[str] = None,
                 format_only: bool = False,
                 prefix: Optional[str] = None) -> None:
        self.split = None
        if class_names is not None or num_classes is not None:
            self.split = ZeroShotSplit.build(class_names, num_classes,
                                             seen_classes, unseen_classes)
            seen_classes, unseen_classes = self.split.seen, self.split.unseen
        self.seen_classes, self.unseen_classes = check_class_ids(
            seen_classes, unseen_classes or ())
        self.class_split = class_split
        if not class_split and self.unseen_classes:
            raise ValueError('class_split=False reports all classes without '
                             'a seen/unseen split; leave unseen_classes '
                             f'out (got {list(self.unseen_classes)})')
        self.json_dir = json_dir
        super().__init__(
            ignore_index=ignore_index,
            iou_metrics=['mIoU'],
            nan_to_num=nan_to_num,
            beta=beta,
            collect_device=collect_device,
            output_dir=output_dir,
            format_only=format_only,
            prefix=prefix)

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """``IoUMetric.process``, with the prediction PNGs (``output_dir``)
        in 16 bits where the raw ids do not fit in 8 (mmseg's would wrap
        them around)."""
        output_dir, self.output_dir = self.output_dir, None
        try:
            super().process(data_batch, data_samples)
        finally:
            self.output_dir = output_dir
        if output_dir is None:
            return
        num_classes = len(self.dataset_meta['classes'])
        for sample in data_samples:
            labels = sample['pred_sem_seg']['data'].squeeze().cpu().numpy()
            shift = int(bool(sample.get('reduce_zero_label', False)))
            dtype = np.uint8 if num_classes - 1 + shift <= 255 else np.uint16
            name = osp.splitext(osp.basename(sample['img_path']))[0]
            Image.fromarray((labels + shift).astype(dtype)).save(
                osp.abspath(osp.join(output_dir, f'{name}.png')))

    @property
    def dataset_meta(self) -> Optional[dict]:
        """Meta information of the dataset, ``classes`` among it."""
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: Optional[dict]) -> None:
        # Checked here so that a wrong id fails before the test loop runs.
        if dataset_meta is not None and 'classes' in dataset_meta:
            self.class_splits(dataset_meta['classes'])
        self._dataset_meta = dataset_meta

    def class_splits(
            self, class_names: Sequence[str]) -> Tuple[List[int], List[int]]:
        """The seen and unseen class ids for a dataset whose classes are
        ``class_names``; both empty with ``class_split=False``.

        Raises:
            ValueError: If an id or a name is not a class of the dataset, or
                the metric was given another number of classes.
        """
        num_classes = len(class_names)
        if self.split is not None and self.split.num_classes != num_classes:
            raise ValueError(
                f'the metric was given {self.split.num_classes} classes but '
                f'the dataset has {num_classes}; check the config\'s '
                'zero_shot_split')
        if not self.class_split:
            return [], []
        split = ZeroShotSplit.build(
            class_names=list(class_names),
            seen_classes=self.seen_classes,
            unseen_classes=self.unseen_classes)
        return list(split.seen), list(split.unseen)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Summary metrics from the per-image areas that ``process`` kept.

        Args:
            results: One ``(intersect, union, pred_area, label_area)`` tuple
                of ``(num_classes, )`` tensors per image.

        Returns:
            The summary, in percent; see the class docstring for the keys.
        """
        if self.format_only:
            print_log(f'results are saved to {self.output_dir}', 'current')
            return {}
        class_names = list(self.dataset_meta['classes'])
        seen, unseen = self.class_splits(class_names)
        intersect, union, pred_area, label_area = (
            sum(areas) for areas in zip(*results))
        per_class = self.total_area_to_metrics(intersect, union, pred_area,
                                               label_area, ['mIoU'],
                                               self.nan_to_num, self.beta)
        iou, acc = per_class['IoU'], per_class['Acc']

        s, u = _nanmean(iou[seen]), _nanmean(iou[unseen])
        metrics = {
            'aAcc': _percent(per_class['aAcc']),
            'mIoU': _percent(_nanmean(iou)),
            'mAcc': _percent(_nanmean(acc)),
        }
        if self.class_split:
            metrics['mIoU_seen'] = _percent(s)
        if unseen:
            metrics['mIoU_unseen'] = _percent(u)
            harmonic = 0.0 if s + u == 0 else 2 * s * u / (s + u)
            metrics['hIoU'] = _percent(harmonic)

        split = [None] * len(class_names)
        for i in seen:
            split[i] = 'seen'
        for i in unseen:
            split[i] = 'unseen'
        rows = [
            dict(
                name=str(name),
                index=i,
                split=split[i],
                IoU=_percent(iou[i]),
                Acc=_percent(acc[i])) for i, name in enumerate(class_names)
        ]
        self._log_tables(rows, metrics, self.class_split)
        if self.json_dir is not None:
            write_json_atomic(
                osp.join(self.json_dir, JSON_NAME),
                dict(
                    summary=metrics,
                    per_class=rows,
                    seen_classes=seen,
                    unseen_classes=unseen))
        return metrics

    def _log_tables(self,
                    rows: List[dict],
                    metrics: Dict[str, float],
                    class_split: bool = True) -> None:
        """Logs per-class tables for each split (one of all classes
        without a split) and the summary table. A split of more than
        :data:`MAX_TABLE_ROWS` classes shows its :data:`SHOWN_EACH` highest
        and lowest IoU; with a ``json_dir``, every table in full goes to
        :data:`TABLES_NAME` there."""
        titles = _TABLE_TITLES if class_split else ((None,
                                                     ALL_CLASSES_TITLE), )
        full_tables = []
        path = (
            osp.join(self.json_dir, TABLES_NAME)
            if self.json_dir is not None else None)
        for split, title in titles:
            split_rows = [r for r in rows if r['split'] == split]
            if not split_rows:
                continue
            full_tables.append(f'{title}:\n{_table(split_rows)}')
            shown, note = split_rows, ''
            if path and len(split_rows) > MAX_TABLE_ROWS:
                # highest IoU first; classes without one (absent) last
                ranked = sorted(
                    split_rows,
                    key=lambda r: -1.0 if r['IoU'] is None else r['IoU'],
                    reverse=True)
                shown = ranked[:SHOWN_EACH] + ranked[-SHOWN_EACH:]
                note = (f'\n({len(split_rows)} classes: the {SHOWN_EACH} '
                        f'highest and {SHOWN_EACH} lowest IoU shown; every '
                        f'class in {path})')
            print_log(
                f'{title}:\n{_table(shown, MAX_NAME_CHARS)}{note}',
                logger='current')
        summary = PrettyTable()
        for column, key in (('mIoU(S)', 'mIoU_seen'),
                            ('mIoU(U)', 'mIoU_unseen'), ('hIoU', 'hIoU'),
                            ('mIoU', 'mIoU'), ('pAcc', 'aAcc')):
            if key in metrics:
                summary.add_column(column, [metrics[key]])
        print_log(
            f'{SUMMARY_TABLE_TITLE}\n{summary.get_string()}', logger='current')
        if path:
            write_atomic(
                '\n\n'.join(full_tables +
                            [f'{SUMMARY_TABLE_TITLE}\n{summary.get_string()}'])
                + '\n', path)


def _table(rows: List[dict], max_name: Optional[int] = None) -> str:
    """A per-class table; names longer than ``max_name`` characters cut
    with an ellipsis."""

    def name(text: str) -> str:
        if max_name is None or len(text) <= max_name:
            return text
        return text[:max_name - 1] + '\u2026'

    table = PrettyTable()
    table.add_column('Class', [name(r['name']) for r in rows])
    for column, key in (('Index', 'index'), ('IoU', 'IoU'), ('Acc', 'Acc')):
        table.add_column(column, [r[key] for r in rows])
    return table.get_string()


def write_json_atomic(path: str, payload: dict) -> None:
    """Writes ``payload`` as JSON through a temporary file and a rename, so
    that readers never see a half-written file. NaNs are written as null."""
    text = json.dumps(_nan_to_none(payload), indent=2, allow_nan=False)
    write_atomic(text + '\n', path)


def _percent(value: float) -> float:
    """A fraction as a percentage rounded to 2 decimals, NaN kept."""
    return float(np.round(float(value) * 100, 2))


def _nanmean(values: np.ndarray) -> float:
    """Mean of the non-NaN values; NaN, without a warning, if there are
    none."""
    if np.isnan(values).all():
        return float('nan')
    return float(np.nanmean(values))


def _nan_to_none(obj):
    """Replaces float NaNs by None in nested dicts and lists."""
    if isinstance(obj, dict):
        return {k: _nan_to_none(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_nan_to_none(v) for v in obj]
    if isinstance(obj, float) and np.isnan(obj):
        return None
    return obj
