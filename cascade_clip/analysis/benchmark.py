"""Inference and training speed of a config's model on synthetic data;
``tools/benchmark.py`` is a thin layer over :func:`benchmark`.

Inference follows the paper's protocol: one image at a time, warm-up images
first, then timed ones, each through the runner's path (data preprocessor,
then ``predict`` with the config's ``test_cfg``, sliding windows for the
paper's configs) with the device synchronised around it. Training times
``train_step`` (forward, backward and optimizer step) on random batches of
the training crop. Weights do not change the timings, so random ones do
unless a checkpoint is given; likewise the class embeddings are cached
before timing as placeholders of the right shape (see
:func:`~cascade_clip.analysis.complexity.cache_class_embeddings`) unless the
config names a ``text_embeddings`` file.
"""
import json
import logging
import os
import os.path as osp
import statistics
import time
from contextlib import contextmanager, nullcontext
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config
from torch import nn

from ..apis.model import init_model
from ..engine.optim import amp_dtype, amp_optim_wrapper_options
from ..utils.machine import describe_machine
from ..utils.memory import peak_memory
from .complexity import cache_class_embeddings


def _memory(peak: dict) -> Dict[str, Any]:
    """The peak memory fields of a result, from
    :func:`~cascade_clip.utils.memory.peak_memory`."""
    return dict(
        peak_memory_mib=peak['peak_mib'], peak_memory_kind=peak['kind'])


def _sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def windows_per_image(test_cfg: dict, image_size: Tuple[int, int]) -> int:
    """How many windows the model runs on an image of ``image_size``."""
    from cascade_clip_runtime.scores import sliding_windows
    if test_cfg.get('mode', 'whole') != 'slide':
        return 1
    return len(
        sliding_windows(image_size[0], image_size[1],
                        tuple(test_cfg['crop_size']),
                        tuple(test_cfg['stride'])))


def _sample(image_size: Tuple[int, int], label=None):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    sample = SegDataSample()
    shape = tuple(image_size)
    sample.set_metainfo(
        dict(
            ori_shape=shape,
            img_shape=shape,
            pad_shape=shape,
            padding_size=[0, 0, 0, 0]))
    if label is not None:
        sample.gt_sem_seg = PixelData(data=label[None])
    return sample


def inference_speed(model: nn.Module,
                    image_size: Tuple[int, int] = (512, 683),
                    warmup: int = 100,
                    images: int = 200,
                    amp: bool = False) -> Dict[str, Any]:
    """Images per second of ``model.test_step`` on one random image at a
    time (a ``uint8 (3, H, W)`` CPU tensor, as the data loader gives).

    Returns:
        ``images_per_s``, ``seconds_per_image``, ``windows_per_image``,
        ``timed_images``, ``warmup_images``, ``dtype`` and the peak memory
        (``peak_memory_mib``, ``peak_memory_kind``).
    """
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(0)
    image = torch.randint(
        0, 256, (3, *image_size), dtype=torch.uint8, generator=generator)
    dtype = amp_dtype(device) if amp else torch.float32
    context = (
        torch.autocast(device.type, dtype=dtype) if amp else nullcontext())
    model.eval()
    elapsed = 0.0
    with torch.no_grad(), peak_memory(device) as memory:
        for i in range(warmup + images):
            data = dict(inputs=[image], data_samples=[_sample(image_size)])
            _sync(device)
            start = time.perf_counter()
            with context:
                model.test_step(data)
            _sync(device)
            if i >= warmup:
                elapsed += time.perf_counter() - start
    windows = windows_per_image(model.test_cfg, image_size)
    return dict(
        images_per_s=images / elapsed if images else None,
        seconds_per_image=elapsed / images if images else None,
        windows_per_s=images * windows / elapsed if images else None,
        windows_per_image=windows,
        cuda_graph=bool(model.test_cfg.get('cuda_graph')),
        timed_images=images,
        warmup_images=warmup,
        dtype=str(dtype).replace('torch.', ''),
        **_memory(memory))


def throughput_speed(model: nn.Module,
                     windows: int,
                     crop_size: Tuple[int, int],
                     iters: int = 20,
                     warmup: int = 5,
                     amp: bool = False) -> Dict[str, Any]:
    """Windows per second when ``windows`` crops run through the model at
    once (``tensor`` mode: the image encoder and the head on every class,
    masks at the crop's size): the most a GPU gives, e.g. for evaluating
    many images or large ones.

    Returns:
        ``windows_per_s``, ``seconds_per_forward``, ``windows``,
        ``crop_size``, ``timed_forwards``, ``dtype`` and the peak memory.
    """
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(0)
    crops = torch.randn(windows, 3, *crop_size, generator=generator).to(device)
    dtype = amp_dtype(device) if amp else torch.float32
    model.eval()
    elapsed = 0.0
    with torch.no_grad(), torch.autocast(
            device.type, dtype=dtype,
            enabled=amp), peak_memory(device) as memory:
        for i in range(warmup + iters):
            _sync(device)
            start = time.perf_counter()
            model(crops, mode='tensor')
            _sync(device)
            if i >= warmup:
                elapsed += time.perf_counter() - start
    return dict(
        windows_per_s=windows * iters / elapsed if iters else None,
        seconds_per_forward=elapsed / iters if iters else None,
        windows=windows,
        crop_size=tuple(crop_size),
        timed_forwards=iters,
        dtype=str(dtype).replace('torch.', ''),
        **_memory(memory))


def crop_size_of(cfg: Config) -> Tuple[int, int]:
    """The training crop: the data preprocessor's ``size`` or
    ``cfg.crop_size``."""
    size = cfg.model.get('data_preprocessor',
                         {}).get('size') or cfg.get('crop_size')
    if size is None:
        raise ValueError('the config gives no training crop size '
                         '(model.data_preprocessor.size or crop_size)')
    return tuple(int(s) for s in size)


def build_optim_wrapper_for(model: nn.Module, cfg: Config, amp: bool):
    """The config's optimizer wrapper; with ``amp`` on a GPU, mixed
    precision as ``tools/train.py --amp`` trains
    (:func:`~cascade_clip.engine.optim.amp_optim_wrapper_options`)."""
    from mmengine.logging import MMLogger
    from mmengine.optim import build_optim_wrapper
    optim_cfg = cfg.optim_wrapper.copy()
    device = next(model.parameters()).device
    if amp and device.type == 'cuda':
        optim_cfg.update(amp_optim_wrapper_options(device))
    # The constructor logs a line per parameter; keep only errors.
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        return build_optim_wrapper(model, optim_cfg)
    finally:
        logger.setLevel(level)


def training_speed(model: nn.Module,
                   cfg: Config,
                   batch_size: Optional[int] = None,
                   iters: int = 50,
                   warmup: int = 10,
                   amp: bool = False) -> Dict[str, Any]:
    """Iterations per second of ``model.train_step`` with the config's
    optimizer, on random ``uint8`` crops and random labels (the dataset's
    class ids and the ignore index 255).

    With ``amp``, a GPU trains with ``AmpOptimWrapper``; a CPU runs the step
    under ``torch.autocast('cpu', torch.bfloat16)``.

    Returns:
        ``iters_per_s``, ``seconds_per_iter``, ``batch_size``,
        ``crop_size``, ``timed_iters``, ``warmup_iters``, ``dtype``,
        ``optim_wrapper`` (its class name) and the peak memory
        (``peak_memory_mib``, ``peak_memory_kind``).
    """
    device = next(model.parameters()).device
    batch_size = batch_size or cfg.train_dataloader.batch_size
    crop = crop_size_of(cfg)
    optim_wrapper = build_optim_wrapper_for(model, cfg, amp)
    dtype = amp_dtype(device) if amp else torch.float32
    context = (
        torch.autocast('cpu', dtype=dtype)
        if amp and device.type != 'cuda' else nullcontext())
    ignore_index = getattr(model, 'ignore_index', 255)
    values = torch.tensor(list(range(model.num_classes)) + [ignore_index])
    generator = torch.Generator().manual_seed(0)
    model.train()
    elapsed = 0.0
    with peak_memory(device) as memory:
        for i in range(warmup + iters):
            images = torch.randint(
                0,
                256, (batch_size, 3, *crop),
                dtype=torch.uint8,
                generator=generator)
            labels = values[torch.randint(
                0, len(values), (batch_size, *crop), generator=generator)]
            data = dict(
                inputs=list(images),
                data_samples=[_sample(crop, label) for label in labels])
            _sync(device)
            start = time.perf_counter()
            with context:
                model.train_step(data, optim_wrapper)
            _sync(device)
            if i >= warmup:
                elapsed += time.perf_counter() - start
    return dict(
        iters_per_s=iters / elapsed if iters else None,
        seconds_per_iter=elapsed / iters if iters else None,
        images_per_s=iters * batch_size / elapsed if iters else None,
        batch_size=batch_size,
        crop_size=crop,
        timed_iters=iters,
        warmup_iters=warmup,
        dtype=str(dtype).replace('torch.', ''),
        optim_wrapper=type(optim_wrapper).__name__,
        **_memory(memory))


def benchmark(config: str,
              checkpoint: Optional[str] = None,
              device: Optional[str] = None,
              amp: bool = False,
              warmup: int = 100,
              images: int = 200,
              image_size: Sequence[int] = (512, 683),
              train_iters: int = 50,
              train_warmup: int = 10,
              batch_size: Optional[int] = None,
              cfg_options: Optional[dict] = None,
              cuda_graph: bool = False,
              compile_backbone: bool = False,
              throughput_windows: int = 0,
              throughput_iters: int = 20,
              tf32: bool = False) -> Dict[str, Any]:
    """Inference images/s and training iterations/s of a config's model.

    Inference runs first, then training on the same model; ``images=0`` or
    ``train_iters=0`` skips that part.

    Args:
        config: Config file.
        checkpoint: Weights to load (the paper's are converted on load);
            random weights without one.
        device: ``'cpu'``, ``'cuda'`` or ``'cuda:N'`` (default: CUDA where
            available).
        amp: bfloat16 autocast (float16 on a GPU without bfloat16).
        warmup: Untimed images first.
        images: Timed images.
        image_size: ``(H, W)`` of the test images as the model gets them
            (after the test resize); one value means a square.
        train_iters: Timed training iterations.
        train_warmup: Untimed training iterations first.
        batch_size: Training batch (default: the config's per-GPU batch).
        cfg_options: Config overrides.
        cuda_graph: Replay inference from captured CUDA graphs (the
            model's ``test_cfg.cuda_graph``; GPU only).
        compile_backbone: ``torch.compile`` the image encoder for the
            inference and throughput parts (GPU only; compiling takes tens
            of seconds, spent in the warm-up).
        throughput_windows: Also time forward passes of this many training
            crops at once (:func:`throughput_speed`); 0 skips it.
        throughput_iters: Timed forward passes of the throughput part.
        tf32: Let float32 matrix products use TF32 tensor cores
            (``torch.set_float32_matmul_precision('high')``; GPU only):
            faster, with float32's range and a 10-bit mantissa, so outputs
            are no longer float32-exact. Restored afterwards.

    Returns:
        ``config``, ``checkpoint``, ``weights``, ``class_embeddings``
        (their source, see
        :func:`~cascade_clip.analysis.complexity.cache_class_embeddings`),
        ``device``, ``machine`` (see
        :func:`~cascade_clip.utils.machine.describe_machine`), ``tf32``,
        ``image_size``, ``inference`` (see
        :func:`inference_speed`), ``throughput`` (see
        :func:`throughput_speed`) and ``training`` (see
        :func:`training_speed`); a part that was skipped is ``None``.
    """
    image_size = tuple(int(s) for s in image_size)
    if len(image_size) == 1:
        image_size = image_size * 2
    if len(image_size) != 2 or min(image_size) < 1:
        raise ValueError(f'image_size must be H W, got {image_size}')
    if min(warmup, images, train_iters, train_warmup) < 0:
        raise ValueError('counts of images and iterations must be >= 0')
    torch.manual_seed(0)
    model = init_model(config, checkpoint, device, cfg_options)
    device = model.device
    if cuda_graph:
        if device.type != 'cuda':
            raise ValueError('cuda_graph needs a CUDA device, not '
                             f'{device}')
        model.test_cfg['cuda_graph'] = True
    if compile_backbone:
        if device.type != 'cuda':
            raise ValueError('compile_backbone is for CUDA devices, not '
                             f'{device}')
        model.compile_backbone()
    if tf32 and device.type != 'cuda':
        raise ValueError(f'tf32 is a mode of CUDA GPUs, not of {device}: '
                         'leave --tf32 out there')
    embeddings = cache_class_embeddings(model)
    result = dict(
        config=config,
        checkpoint=checkpoint,
        weights='checkpoint' if checkpoint else 'random',
        class_embeddings=embeddings,
        device=str(device),
        compiled_backbone=compile_backbone,
        machine=describe_machine(device),
        tf32=tf32,
        image_size=image_size,
        inference=None,
        throughput=None,
        training=None)
    with float32_matmul_precision('high' if tf32 else 'highest'):
        if images > 0:
            result['inference'] = inference_speed(model, image_size, warmup,
                                                  images, amp)
        if throughput_windows > 0:
            result['throughput'] = throughput_speed(model, throughput_windows,
                                                    crop_size_of(model.cfg),
                                                    throughput_iters,
                                                    min(5,
                                                        throughput_iters), amp)
        if train_iters > 0:
            result['training'] = training_speed(model, model.cfg, batch_size,
                                                train_iters, train_warmup, amp)
    return result


@contextmanager
def float32_matmul_precision(precision: str):
    """``torch.set_float32_matmul_precision(precision)`` for a block."""
    before = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision(precision)
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(before)


def _fmt(value: Optional[float], digits: int = 3) -> str:
    return 'skipped' if value is None else f'{value:.{digits}f}'


_EMBEDDINGS = {
    'placeholder': 'cached random placeholders of the right shape',
    'file': 'cached, from the config\'s text_embeddings file',
    'given': 'cached, given to the model',
    'text encoder': 'cached, computed once by the text encoder',
    'every pass': 'recomputed by the trained text encoder every pass',
}


def _precision(dtype: str, tf32: bool = False) -> str:
    if dtype != 'float32':
        return f'{dtype} autocast'
    return 'float32, TF32 matrix products' if tf32 else dtype


def format_benchmark(result: Dict[str, Any]) -> str:
    """The result of :func:`benchmark` as a text table."""
    machine = result['machine']
    inference, training = result['inference'], result['training']
    throughput = result.get('throughput')
    tf32 = result.get('tf32', False)
    rows: List[Tuple[str, str]] = [
        ('config', result['config']),
        ('weights', result['checkpoint'] or 'random (timings do not depend '
         'on weights)'),
        ('class embeddings', _EMBEDDINGS.get(result['class_embeddings'], '-')),
        ('CPU', f'{machine["cpu"]} ({machine["cpu_cores"]} cores, '
         f'{machine["threads"]} torch threads)'),
        ('GPU', machine['gpu'] or '-'),
        ('torch', machine['torch']),
        ('device', result['device']),
    ]
    if inference is not None:
        rows += [
            ('inference dtype', _precision(inference['dtype'], tf32)),
            ('inference image size',
             '{} x {} (H x W), batch 1'.format(*result['image_size'])),
            ('windows per image', str(inference['windows_per_image'])),
            ('inference images', f'{inference["warmup_images"]} warm-up + '
             f'{inference["timed_images"]} timed'),
            ('inference CUDA graphs',
             'yes' if inference.get('cuda_graph') else 'no'),
            ('inference img/s', _fmt(inference['images_per_s'])),
            ('inference ms/image',
             _fmt(
                 inference['seconds_per_image']
                 and 1000 * inference['seconds_per_image'], 1)),
            ('inference peak memory',
             f'{inference["peak_memory_mib"]:.0f} MiB '
             f'({inference["peak_memory_kind"]})'),
        ]
    else:
        rows.append(('inference img/s', 'skipped'))
    if throughput is not None:
        rows += [
            ('throughput', '{} windows of {} x {} per forward, {}'.format(
                throughput['windows'], *throughput['crop_size'],
                _precision(throughput['dtype'], tf32))),
            ('throughput windows/s', _fmt(throughput['windows_per_s'], 1)),
            ('throughput peak memory',
             f'{throughput["peak_memory_mib"]:.0f} MiB '
             f'({throughput["peak_memory_kind"]})'),
        ]
    if training is not None:
        rows += [
            ('training dtype', _precision(training['dtype'], tf32) +
             f' ({training["optim_wrapper"]})'),
            ('training batch x crop',
             '{} x {} x {}'.format(training['batch_size'],
                                   *training['crop_size'])),
            ('training iterations', f'{training["warmup_iters"]} warm-up + '
             f'{training["timed_iters"]} timed'),
            ('training it/s', _fmt(training['iters_per_s'])),
            ('training ms/step',
             _fmt(
                 training['seconds_per_iter']
                 and 1000 * training['seconds_per_iter'], 1)),
            ('training images/s', _fmt(training['images_per_s'], 1)),
            ('training peak memory', f'{training["peak_memory_mib"]:.0f} MiB '
             f'({training["peak_memory_kind"]})'),
        ]
    else:
        rows.append(('training it/s', 'skipped'))
    width = max(len(k) for k, _ in rows)
    rule = '-' * (width + 2) + '+' + '-' * (max(len(v) for _, v in rows) + 2)
    return '\n'.join([rule] + [f' {k.ljust(width)} | {v}'
                               for k, v in rows] + [rule])


def write_json(result: Dict[str, Any], path: str) -> None:
    """Writes :func:`benchmark`'s result to ``path``."""
    if osp.dirname(path):
        os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(result, f, indent=2)


def alternate_precisions(config: str,
                         rounds: int = 3,
                         **options) -> Dict[str, Any]:
    """:func:`benchmark` in float32 and under bfloat16 autocast in turn,
    ``rounds`` times, so that both see the same machine: a table of one run
    (the machine's speed drifts between runs).

    Args:
        config: Config file.
        rounds: Rounds of float32 then bfloat16.
        **options: :func:`benchmark`'s (not ``amp``).

    Returns:
        ``machine`` and, per ``'float32'`` / ``'bfloat16'``, the list of
        each round's ``seconds_per_image`` and ``seconds_per_iter``. No
        memory: the rounds share one process, whose resident memory grows
        from round to round (3 rounds of the COCO config: 2.6, 3.7, 5.2
        GiB); a single run of :func:`benchmark` measures it.
    """
    found: Dict[str, Dict[str, list]] = {
        name: dict(seconds_per_image=[], seconds_per_iter=[])
        for name in ('float32', 'bfloat16')
    }
    machine = None
    for _ in range(rounds):
        for name in found:
            result = benchmark(config, amp=name == 'bfloat16', **options)
            machine = result['machine']
            inference, training = result['inference'], result['training']
            if inference is not None:
                found[name]['seconds_per_image'].append(
                    inference['seconds_per_image'])
            if training is not None:
                found[name]['seconds_per_iter'].append(
                    training['seconds_per_iter'])
    return dict(config=config, rounds=rounds, machine=machine, **found)


def _span(values: Sequence[float]) -> str:
    if not values:
        return '-'
    return f'{min(values):.2f}-{max(values):.2f} s'


def format_alternation(result: Dict[str, Any]) -> str:
    """The result of :func:`alternate_precisions` as a markdown table:
    each figure's range over the rounds, and bfloat16's speed-up (the
    ratio of the medians)."""
    fp32, bf16 = result['float32'], result['bfloat16']

    def ratio(key):
        if not fp32[key] or not bf16[key]:
            return '-'
        speedup = statistics.median(fp32[key]) / statistics.median(bf16[key])
        return f'{speedup:.2f}x'

    machine = result['machine']
    lines = [
        f'{result["config"]}, {result["rounds"]} rounds alternating; '
        f'{machine["cpu"]} ({machine["cpu_cores"]} cores, '
        f'{machine["threads"]} threads), GPU: {machine["gpu"] or "none"}, '
        f'torch {machine["torch"]}',
        '',
        '| | float32 | bfloat16 autocast | bfloat16 speed-up |',
        '|---|---|---|---|',
        f'| inference, one image | {_span(fp32["seconds_per_image"])} | '
        f'{_span(bf16["seconds_per_image"])} | '
        f'{ratio("seconds_per_image")} |',
        f'| training step | {_span(fp32["seconds_per_iter"])} | '
        f'{_span(bf16["seconds_per_iter"])} | {ratio("seconds_per_iter")} |',
    ]
    return '\n'.join(lines)
