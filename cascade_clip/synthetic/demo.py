"""Zero-shot segmentation that visibly works with nothing downloaded.

In the shapes world (:mod:`.world`), with the tiny CLIP that
``tools/pretrain_tiny_clip.py`` pre-trained on captions of all 20 classes
(shipped in the package), :func:`run_demo` trains Cascade-CLIP inductively
on the 15 seen classes' masks, evaluates it on all 20, and evaluates it
again as a **control** with the 5 unseen classes' text embeddings replaced
by random unit vectors: whatever the model finds of an unseen class beyond
the control's score comes through the text side. ``tools/demo.py`` and the
learning test (``tests/test_synthetic/test_learning.py``) run it.
"""
import json
import os
import os.path as osp
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np
import torch
import torch.nn.functional as F

from ..apis import (init_model, segment_images, test_config, train_config,
                    visualize_predictions)
from ..config_files import config_path
from ..engine.experiment import run_test, run_train
from ..visualization import plot_iou_chart
from .pretrain import SHIPPED_WEIGHTS
from .world import CLASSES, UNSEEN, write_shapes_voc

SHAPES_CONFIG = 'shapes/cascade-clip_tiny_1xb16-2k_shapes20-64x64_inductive.py'
TRANSDUCTIVE_CONFIG = (
    'shapes/cascade-clip_tiny_1xb16-500_shapes20-64x64_transductive.py')
SUMMARY_KEYS = (('mIoU(S)', 'mIoU_seen'), ('mIoU(U)', 'mIoU_unseen'),
                ('hIoU', 'hIoU'), ('pAcc', 'aAcc'))


@dataclass
class DemoResult:
    """What :func:`run_demo` measured and wrote.

    Attributes:
        metrics: Test metrics of the trained model (``mIoU_seen``,
            ``mIoU_unseen``, ``hIoU``, ``mIoU``, ``aAcc``, percent).
        control: The same with random unseen-class embeddings.
        transductive: Test metrics after the transductive step, if run.
        per_class: Per-class IoU of the trained model and of the control,
            ``{name: (trained, control)}``.
        checkpoint: The trained weights.
        pictures: Pictures of validation scenes with unseen classes.
        chart: Per-class IoU chart of the trained model.
        infer: Open-vocabulary inference outputs (``image``, ``mask``,
            ``overlay``, ``shares``) on a validation scene.
        seconds: Training time.
        classes: The world's classes (the config's).
        unseen: Its unseen classes.
    """
    metrics: Dict[str, float]
    control: Dict[str, float]
    transductive: Optional[Dict[str, float]] = None
    per_class: Dict[str, tuple] = field(default_factory=dict)
    checkpoint: str = ''
    pictures: List[str] = field(default_factory=list)
    chart: Optional[str] = None
    infer: Optional[dict] = None
    seconds: float = 0.0
    classes: List[str] = field(default_factory=lambda: list(CLASSES))
    unseen: List[str] = field(
        default_factory=lambda: [CLASSES[i] for i in UNSEEN])


def world_options(data_root: str,
                  clip: str,
                  iters: int,
                  seed: int,
                  lr: Optional[float] = None) -> dict:
    """``--cfg-options`` that point the shapes config at a written world,
    a CLIP file, a schedule of ``iters`` iterations and a seed."""
    options = {
        'train_dataloader.dataset.data_root': data_root,
        'val_dataloader.dataset.data_root': data_root,
        'test_dataloader.dataset.data_root': data_root,
        'model.pretrained': clip,
        'train_cfg.max_iters': iters,
        'train_cfg.val_interval': iters,
        'default_hooks.checkpoint.interval': iters,
        'default_hooks.logger.interval': max(1, iters // 10),
        'param_scheduler.0.end': max(1, min(200, iters // 10)),
        'param_scheduler.1.end': iters,
        'randomness': dict(seed=seed),
    }
    if lr is not None:
        options['optim_wrapper.optimizer.lr'] = lr
    return options


def control_embeddings(embeddings: torch.Tensor,
                       unseen,
                       seed: int = 0) -> torch.Tensor:
    """A copy of ``(K, C)`` class embeddings whose ``unseen`` rows are
    random unit vectors."""
    generator = torch.Generator().manual_seed(seed)
    control = embeddings.detach().float().cpu().clone()
    noise = torch.randn(len(unseen), control.shape[1], generator=generator)
    control[list(unseen)] = F.normalize(noise, dim=-1)
    return control


def _class_embeddings(config: str, checkpoint: str, options: dict):
    """The trained model's embeddings of its classes, as it computes them
    (with its CLIP text encoder, from the class names), the class names
    and the unseen ones' ids."""
    model = init_model(config, checkpoint, 'cpu', options)
    with torch.no_grad():
        return (model.get_class_embeddings(), model.class_names,
                model.unseen_classes)


def _per_class(work_dir: str) -> Dict[str, float]:
    with open(osp.join(work_dir, 'zero_shot_metrics.json')) as f:
        return {row['name']: row['IoU'] for row in json.load(f)['per_class']}


def format_results(result: DemoResult) -> str:
    """The trained model's and the control's summaries and the unseen
    classes' IoU, as text tables."""

    def cell(value):
        return '   n/a' if value is None else f'{value:6.1f}'

    names = [name for name, _ in SUMMARY_KEYS]
    lines = [
        f'{"":34}' + ''.join(f'{n:>9}' for n in names),
        f'{"Cascade-CLIP":34}' + ''.join(f'{cell(result.metrics.get(k)):>9}'
                                         for _, k in SUMMARY_KEYS),
        f'{"control: random unseen embeddings":34}' +
        ''.join(f'{cell(result.control.get(k)):>9}' for _, k in SUMMARY_KEYS),
    ]
    if result.transductive:
        lines.append(f'{"+ transductive self-training":34}' +
                     ''.join(f'{cell(result.transductive.get(k)):>9}'
                             for _, k in SUMMARY_KEYS))
    lines += [
        '',
        f'{"unseen class":34}{"IoU":>9}{"control":>9}',
    ]
    for name in result.unseen:
        trained, control = result.per_class.get(name, (None, None))
        lines.append(f'{name:34}{cell(trained):>9}{cell(control):>9}')
    return '\n'.join(lines)


def run_demo(out_dir: str = 'work_dirs/demo',
             iters: int = 2000,
             seed: int = 0,
             num_train: int = 2000,
             num_val: int = 200,
             num_pictures: int = 4,
             clip: str = SHIPPED_WEIGHTS,
             lr: Optional[float] = None,
             config: str = SHAPES_CONFIG,
             cfg_options: Optional[dict] = None,
             transductive_iters: int = 0,
             log=print) -> DemoResult:
    """Trains, evaluates, runs the control and draws pictures.

    Args:
        out_dir: Gets ``data/`` (the world), ``work_dir/`` (training,
            checkpoint, metrics), ``control/`` and ``pictures/``.
        iters: Training iterations.
        seed: Seeds training (the world and the control's vectors are
            fixed).
        num_train: Training scenes.
        num_val: Validation scenes.
        num_pictures: Pictures of validation scenes with unseen classes
            (0 for none).
        clip: CLIP weight file (default: the shipped tiny CLIP).
        lr: Base learning rate (default: the config's).
        config: The shapes config (the 20 shapes, or the 21 classes with
            the background's).
        cfg_options: More config overrides.
        transductive_iters: Iterations of a transductive step from the
            trained model (its test metrics are reported too); 0 for none.
        log: Where the result tables go (``None``: nowhere).
    """
    config = config_path(config)
    if not osp.isfile(clip):
        raise FileNotFoundError(
            f'tiny CLIP weights not found: {clip}. Make them with '
            '`python tools/pretrain_tiny_clip.py`.')
    data_root = write_shapes_voc(
        osp.join(out_dir, 'data'), num_train, num_val, showcase=num_pictures)
    options = dict(
        world_options(data_root, clip, iters, seed, lr), **(cfg_options or {}))
    work_dir = osp.join(out_dir, 'work_dir')
    start = time.perf_counter()
    # The runs' evaluation tables go to their log files; the demo prints
    # its own (format_results), once.
    run_train(
        train_config(config, work_dir=work_dir, cfg_options=options),
        tables=False)
    seconds = time.perf_counter() - start
    checkpoint = osp.join(work_dir, f'iter_{iters}.pth')
    test_dir = osp.join(work_dir, 'test')
    metrics = run_test(
        test_config(
            config, checkpoint, work_dir=test_dir, cfg_options=options),
        tables=False)

    control_dir = osp.join(out_dir, 'control')
    control_file = osp.join(control_dir, 'random_unseen_embeddings.npy')
    os.makedirs(control_dir, exist_ok=True)
    embeddings, names, unseen = _class_embeddings(config, checkpoint, options)
    np.save(control_file, control_embeddings(embeddings, unseen).numpy())
    control = run_test(
        test_config(
            config,
            checkpoint,
            work_dir=control_dir,
            cfg_options=dict(options,
                             **{'model.text_embeddings': control_file})),
        tables=False)
    trained_iou, control_iou = _per_class(test_dir), _per_class(control_dir)
    result = DemoResult(
        metrics=dict(metrics),
        control=dict(control),
        per_class={n: (trained_iou[n], control_iou[n])
                   for n in trained_iou},
        classes=names,
        unseen=[names[i] for i in unseen],
        checkpoint=checkpoint,
        seconds=seconds)
    if transductive_iters:
        result.transductive, checkpoint = _transductive(
            osp.join(out_dir, 'transductive'), checkpoint,
            dict(
                world_options(data_root, clip, transductive_iters, seed, lr),
                **(cfg_options or {})))
    if num_pictures:
        _draw(result, checkpoint, config, options, out_dir, num_pictures)
    if log:
        log(format_results(result))
    return result


def _transductive(work_dir: str, checkpoint: str, options: dict):
    """Self-training from ``checkpoint``; its test metrics and checkpoint."""
    config = config_path(TRANSDUCTIVE_CONFIG)
    run_train(
        train_config(
            config,
            work_dir=work_dir,
            load_from=checkpoint,
            cfg_options=options),
        tables=False)
    checkpoint = osp.join(work_dir,
                          f'iter_{options["train_cfg.max_iters"]}.pth')
    metrics = run_test(
        test_config(
            config,
            checkpoint,
            work_dir=osp.join(work_dir, 'test'),
            cfg_options=options),
        tables=False)
    return dict(metrics), checkpoint


def _draw(result: DemoResult, checkpoint: str, config: str, options: dict,
          out_dir: str, num_pictures: int) -> None:
    """Pictures of the first validation scenes (showcases of unseen
    classes) by the final model, the per-class IoU chart, and
    open-vocabulary inference on the first scene with all class names."""
    pictures = visualize_predictions(
        config,
        checkpoint,
        num=num_pictures,
        out_dir=osp.join(out_dir, 'pictures'),
        cfg_options=options,
        min_side=192,
        only_labelled=True)
    result.pictures = [p.path for p in pictures]
    metrics_json = osp.join(
        osp.dirname(checkpoint), 'test', 'zero_shot_metrics.json')
    stage = 'transductive' if result.transductive else 'inductive'
    result.chart = plot_iou_chart(
        metrics_json,
        osp.join(out_dir, 'iou_chart.png'),
        name=f'Cascade-CLIP in the shapes world, {stage}').path
    [result.infer] = segment_images(
        pictures[0].img_path,
        checkpoint,
        result.classes,
        osp.join(out_dir, 'infer'),
        templates='single')
