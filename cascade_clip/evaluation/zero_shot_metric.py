"""IoU metric split into seen and unseen classes for zero-shot segmentation."""
import json
import operator
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.logging import print_log
from mmseg.evaluation import IoUMetric
from mmseg.registry import METRICS
from prettytable import PrettyTable

from ..engine.atomic_backend import write_atomic

JSON_NAME = 'zero_shot_metrics.json'
_TABLE_TITLES = (('seen', 'seen classes'), ('unseen', 'unseen classes'),
                 (None, 'classes in neither split'))


@METRICS.register_module()
class ZeroShotIoUMetric(IoUMetric):
    """mIoU over seen classes, over unseen classes, and their harmonic mean.

    ``compute_metrics`` returns, in percent rounded to 2 decimals: ``aAcc``
    (pixel accuracy), ``mIoU`` and ``mAcc`` over all classes, ``mIoU_seen``,
    and, when there are unseen classes, ``mIoU_unseen`` and
    ``hIoU = 2 * S * U / (S + U)`` (0 when ``S + U == 0``). Means leave out
    classes whose value is NaN (absent from both labels and predictions).

    Class ids index ``dataset_meta['classes']``. Ids that repeat, that are both
    seen and unseen, or that are negative are rejected at construction; ids
    past the last class as soon as the dataset's classes are known. A class
    in neither split counts only in ``mIoU``, ``mAcc`` and ``aAcc``.

    Args:
        seen_classes: Ids of the seen classes; by default every class that is
            not unseen (also what cross-dataset evaluation needs).
        unseen_classes: Ids of the unseen classes; empty for cross-dataset
            evaluation, which then reports neither ``mIoU_unseen`` nor
            ``hIoU``.
        json_dir: If set, the summary and per-class results are also written
            to ``json_dir/zero_shot_metrics.json``.
        ignore_index: Label value left out of the evaluation.
        nan_to_num: If set, per-class NaNs are replaced by this number (and so
            enter the means), as in :class:`IoUMetric`.
        beta: Passed to :class:`IoUMetric`.
        collect_device: Device results are gathered on across ranks,
            ``'cpu'`` or ``'gpu'``.
        output_dir: If set, prediction PNGs are written there.
        format_only: Only write predictions, compute nothing.
        prefix: Prefix of the metric names.
    """

    def __init__(self,
                 seen_classes: Optional[Sequence[int]] = None,
                 unseen_classes: Sequence[int] = (),
                 json_dir: Optional[str] = None,
                 ignore_index: int = 255,
                 nan_to_num: Optional[int] = None,
                 beta: int = 1,
                 collect_device: str = 'cpu',
                 output_dir: Optional[str] = None,
                 format_only: bool = False,
                 prefix: Optional[str] = None) -> None:
        self.unseen_classes = _class_ids(unseen_classes, 'unseen_classes')
        self.seen_classes = (None if seen_classes is None else _class_ids(
            seen_classes, 'seen_classes'))
        both = sorted(set(self.seen_classes or ()) & set(self.unseen_classes))
        if both:
            raise ValueError(f'class ids {both} are both seen and unseen')
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

    @property
    def dataset_meta(self) -> Optional[dict]:
        """Meta information of the dataset, ``classes`` among it."""
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: Optional[dict]) -> None:
        # Checked here so that a wrong id fails before the test loop runs.
        if dataset_meta is not None and 'classes' in dataset_meta:
            self.class_splits(len(dataset_meta['classes']))
        self._dataset_meta = dataset_meta

    def class_splits(self, num_classes: int) -> Tuple[List[int], List[int]]:
        """The seen and unseen class ids for a dataset of ``num_classes``.

        Raises:
            ValueError: If an id is not a class of the dataset.
        """
        unseen = list(self.unseen_classes)
        if self.seen_classes is None:
            seen = [
                i for i in range(num_classes) if i not in self.unseen_classes
            ]
        else:
            seen = list(self.seen_classes)
        for name, ids in (('seen_classes', seen), ('unseen_classes', unseen)):
            bad = [i for i in ids if i >= num_classes]
            if bad:
                raise ValueError(f'{name} {bad} are not classes of a dataset '
                                 f'with {num_classes} classes (ids 0 to '
                                 f'{num_classes - 1})')
        return seen, unseen

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
        seen, unseen = self.class_splits(len(class_names))
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
            'mIoU_seen': _percent(s),
        }
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
        self._log_tables(rows, metrics)
        if self.json_dir is not None:
            write_json_atomic(
                osp.join(self.json_dir, JSON_NAME),
                dict(
                    summary=metrics,
                    per_class=rows,
                    seen_classes=seen,
                    unseen_classes=unseen))
        return metrics

    @staticmethod
    def _log_tables(rows: List[dict], metrics: Dict[str, float]) -> None:
        """Prints per-class tables for each split and the summary table."""
        for split, title in _TABLE_TITLES:
            split_rows = [r for r in rows if r['split'] == split]
            if not split_rows:
                continue
            table = PrettyTable()
            for column, key in (('Class', 'name'), ('Index', 'index'),
                                ('IoU', 'IoU'), ('Acc', 'Acc')):
                table.add_column(column, [r[key] for r in split_rows])
            print_log(f'{title}:\n{table.get_string()}', logger='current')
        summary = PrettyTable()
        for column, key in (('mIoU(S)', 'mIoU_seen'),
                            ('mIoU(U)', 'mIoU_unseen'), ('hIoU', 'hIoU'),
                            ('mIoU', 'mIoU'), ('pAcc', 'aAcc')):
            if key in metrics:
                summary.add_column(column, [metrics[key]])
        print_log(
            f'zero-shot summary:\n{summary.get_string()}', logger='current')


def write_json_atomic(path: str, payload: dict) -> None:
    """Writes ``payload`` as JSON through a temporary file and a rename, so
    that readers never see a half-written file. NaNs are written as null."""
    text = json.dumps(_nan_to_none(payload), indent=2, allow_nan=False)
    write_atomic(text + '\n', path)


def _class_ids(ids: Sequence[int], name: str) -> Tuple[int, ...]:
    """Checks that class ids are distinct non-negative integers."""
    try:
        ids = tuple(operator.index(i) for i in ids)
    except TypeError:
        raise ValueError(
            f'{name} must be integer class ids, got {ids!r}') from None
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ValueError(f'{name} repeats class ids {repeated}')
    negative = [i for i in ids if i < 0]
    if negative:
        raise ValueError(f'{name} {negative} are not class ids (negative)')
    return ids


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
