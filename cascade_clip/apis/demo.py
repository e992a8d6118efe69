"""A demo of the whole workflow that needs no download: a tiny random CLIP,
a small generated VOC-like dataset, a short inductive training, evaluation
with the seen / unseen / hIoU report, pictures, and open-vocabulary
inference. ``tools/demo.py`` runs it."""
import os.path as osp
from typing import Optional

from mmengine.runner import Runner

from ..testing import make_voc20, write_tiny_clip
from .experiment import test_config, train_config
from .inference import segment_images
from .visualization import plot_iou_chart, visualize_predictions

TINY_CONFIG = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs',
    'tiny', 'cascade-clip_tiny_1xb2-40_voc20-64x64_inductive.py')
NOTICE = (
    'NOTE: this demo runs on a tiny CLIP with RANDOM weights and a small '
    'generated dataset, so that it needs no download. Its numbers and '
    'pictures show that the workflow runs; they say nothing about '
    'Cascade-CLIP. Unseen classes in particular cannot be recognised without '
    'CLIP\'s real weights.')


def _data_roots(root: str) -> dict:
    voc = osp.join(root, 'VOCdevkit', 'VOC2012')
    return {
        'train_dataloader.dataset.datasets.0.data_root': voc,
        'train_dataloader.dataset.datasets.1.data_root': voc,
        'val_dataloader.dataset.data_root': voc,
        'test_dataloader.dataset.data_root': voc,
    }


def run_demo(out_dir: str = 'work_dirs/demo',
             iters: int = 300,
             lr: Optional[float] = None,
             num_train: int = 16,
             num_val: int = 4,
             num_pictures: int = 4,
             config: str = TINY_CONFIG) -> dict:
    """Runs the demo into ``out_dir`` and returns what it wrote.

    Args:
        out_dir: Everything goes here: ``clip_pretrain/``, ``data/``, the
            training ``work_dir/``, ``pictures/``, ``iou_chart.png`` and
            ``infer/``.
        iters: Training iterations.
        lr: Base learning rate (default: the config's, the paper's 2e-5).
        num_train: Generated training images.
        num_val: Generated validation images.
        num_pictures: Validation images drawn with their prediction.
        config: The (tiny) config to train.

    Returns:
        Paths of the checkpoint, the metrics JSON, the pictures, the chart
        and the inference outputs, and the test metrics.
    """
    print(NOTICE, flush=True)
    clip = osp.join(out_dir, 'clip_pretrain', 'tiny-clip.pt')
    write_tiny_clip(clip)
    data_root = osp.join(out_dir, 'data')
    make_voc20(data_root, num_train=num_train, num_val=num_val)
    work_dir = osp.join(out_dir, 'work_dir')
    options = dict(
        _data_roots(data_root), **{
            'model.pretrained': clip,
            'train_cfg.max_iters': iters,
            'train_cfg.val_interval': iters,
            'default_hooks.checkpoint.interval': iters,
            'default_hooks.logger.interval': max(1, iters // 10),
            'param_scheduler.0.end': max(1, iters // 10),
            'param_scheduler.1.end': iters,
        })
    if lr is not None:
        options['optim_wrapper.optimizer.lr'] = lr
    Runner.from_cfg(
        train_config(config, work_dir=work_dir, cfg_options=options)).train()
    checkpoint = osp.join(work_dir, f'iter_{iters}.pth')

    print('\nEvaluating the trained model:', flush=True)
    metrics = Runner.from_cfg(
        test_config(
            config, checkpoint, work_dir=work_dir,
            cfg_options=options)).test()
    metrics_json = osp.join(work_dir, 'zero_shot_metrics.json')
    pictures = visualize_predictions(
        config,
        checkpoint,
        num=num_pictures,
        out_dir=osp.join(out_dir, 'pictures'),
        cfg_options=options)
    chart = plot_iou_chart(metrics_json, osp.join(out_dir, 'iou_chart.png'))

    image = pictures[0].img_path
    inferred = segment_images(
        image,
        checkpoint, ['aeroplane', 'person', 'sheep', 'background'],
        osp.join(out_dir, 'infer'),
        templates='single')
    summary = dict(
        checkpoint=checkpoint,
        metrics=metrics,
        metrics_json=metrics_json,
        pictures=[p.path for p in pictures],
        chart=chart.path,
        infer=inferred)
    print('\nOpen-vocabulary inference on ' + image + ':')
    for name, share in inferred[0]['shares'].items():
        print(f'  {name}: {100 * share:.1f}%')
    print('\nWrote:')
    for key in ('checkpoint', 'metrics_json', 'chart'):
        print(f'  {summary[key]}')
    for path in summary['pictures']:
        print(f'  {path}')
    print(f'  {inferred[0]["mask"]}\n  {inferred[0]["overlay"]}')
    print('\n' + NOTICE)
    return summary

