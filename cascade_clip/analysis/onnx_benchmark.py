"""The ONNX runtime against the PyTorch path, in one run:
``tools/benchmark_onnx.py`` is a thin layer over :func:`benchmark_onnx`.

It measures

- the export: time and file size of each ONNX file (and of an int8 copy of
  the image model, quantised dynamically by onnxruntime);
- agreement: the image model's scores against PyTorch's on random windows
  with the same embeddings (max abs diff), the text encoder's class
  embeddings (cosine), and the labels of one image through the whole path
  of each engine (``tools/infer.py``'s segmenter against
  :class:`~cascade_clip_runtime.onnx_backend.OnnxSegmenter`, each embedding
  the class names itself);
- speed and memory: each engine in its own process (its peak resident
  memory is its own, imports included), the image segmented by each in
  turn, round after round, after a first untimed image that also embeds
  the classes.

Weights change none of this, so random ones do unless a checkpoint is
given (they are saved once, so that the PyTorch engine loads a checkpoint
as ``tools/infer.py`` does).
"""
import json
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from ..apis.model import init_model
from ..deploy import export as onnx_export
from ..structures import resolve_class_names
from ..utils.machine import describe_machine

WORKER = osp.join(
    osp.dirname(osp.abspath(__file__)), 'onnx_benchmark_worker.py')


def write_test_image(path: str, size: Tuple[int, int], seed: int = 0) -> str:
    """A smooth random RGB PNG of ``(H, W)`` (coarse noise enlarged)."""
    from PIL import Image
    rng = np.random.default_rng(seed)
    height, width = size
    coarse = rng.integers(0, 256, (height // 16 + 2, width // 16 + 2, 3),
                          np.uint8)
    Image.fromarray(coarse).resize((width, height), Image.BILINEAR).save(path)
    return path


def quantize_int8(model_dir: str, export_id: str) -> Tuple[str, float]:
    """An int8 copy of the folder's image model (onnxruntime's dynamic
    quantisation of the weights of its matrix products), marked as the
    export's image model; its path and the seconds it took."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    source = osp.join(model_dir, onnx_export.IMAGE_MODEL)
    target = osp.join(model_dir, 'image_model.int8.onnx')
    start = time.perf_counter()
    quantize_dynamic(source, target, weight_type=QuantType.QInt8)
    onnx_export.mark_onnx(target, 'image_model', export_id)
    return target, time.perf_counter() - start


def window_agreement(model: torch.nn.Module,
                     model_files: Sequence[str],
                     num_classes: int,
                     batch: int = 2,
                     seed: int = 0) -> Dict[str, float]:
    """Max abs difference of each ONNX image model's scores from PyTorch's
    on ``batch`` random windows of the crop, ``num_classes`` random unit
    embeddings and the model's shift on every other class."""
    import onnxruntime
    generator = torch.Generator().manual_seed(seed)
    height, width = model.test_cfg['crop_size']
    windows = torch.randn(batch, 3, height, width, generator=generator)
    embeddings = F.normalize(
        torch.randn(
            num_classes, model.decode_head.embed_dims, generator=generator),
        dim=-1)
    shift = torch.zeros(num_classes)
    shift[::2] = model.decode_head.seen_score_shift
    with torch.no_grad():
        expected = onnx_export.ImageModel(model)(windows, embeddings,
                                                 shift).numpy()
    result = {}
    for path in model_files:
        session = onnxruntime.InferenceSession(
            path, providers=['CPUExecutionProvider'])
        [scores] = session.run(
            None,
            dict(
                window=windows.numpy(),
                class_embeddings=embeddings.numpy(),
                score_shift=shift.numpy()))
        result[osp.basename(path)] = float(np.abs(scores - expected).max())
        del session
    return result


class Worker:
    """An engine in its own process (:mod:`.onnx_benchmark_worker`)."""

    def __init__(self, name: str, spec: Dict[str, Any], env: Dict[str, str]):
        self.name = name
        self.spec = spec
        self.process = subprocess.Popen(
            [sys.executable, WORKER, json.dumps(spec)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env)
        self.load_s = self._answer()['load_s']
        self.times: List[float] = []
        self.first_s: Optional[float] = None

    def _answer(self) -> Dict[str, Any]:
        line = self.process.stdout.readline()
        if not line:
            self.process.wait()
            raise RuntimeError(f'the {self.name} worker ended (exit status '
                               f'{self.process.returncode}); see its '
                               'output above')
        return json.loads(line)

    def run(self, timed: bool = True) -> float:
        self.process.stdin.write('run\n')
        self.process.stdin.flush()
        seconds = self._answer()['seconds']
        if timed:
            self.times.append(seconds)
        else:
            self.first_s = seconds
        return seconds

    def quit(self) -> Dict[str, Any]:
        self.process.stdin.write('quit\n')
        self.process.stdin.flush()
        answer = self._answer()
        self.process.wait()
        return answer

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def pytorch_score_gap(checkpoint: str,
                      image: str,
                      embeddings: np.ndarray,
                      labels: np.ndarray,
                      config: Optional[str] = None) -> np.ndarray:
    """``(H, W)`` margin of the best class over the second in the scores
    of ``tools/infer.py``'s segmenter (with ``embeddings``) at the image's
    size: where engines label a pixel differently, a margin at float32
    rounding means a tie, not a fault. Its labels must be ``labels``."""
    from mmengine.dataset import pseudo_collate

    from cascade_clip_runtime.images import read_image
    from ..apis.inference import OpenVocabularySegmenter
    segmenter = OpenVocabularySegmenter(checkpoint, config, device='cpu')
    model = segmenter.model
    model.set_classes(torch.from_numpy(embeddings))
    model.test_cfg['keep_seg_logits'] = True
    # mmcv's pipeline takes BGR
    data = segmenter.pipeline(dict(img=read_image(image)[..., ::-1].copy()))
    with torch.no_grad():
        [result] = model.test_step(pseudo_collate([data]))
    scores = result.seg_logits.data
    if not (result.pred_sem_seg.data[0].numpy() == labels).all():
        raise RuntimeError('the scores recomputed for the margins do not '
                           'give the PyTorch engine\'s labels')
    best = scores.topk(2, dim=0).values
    return (best[0] - best[1]).numpy()


def _load_average() -> Optional[List[float]]:
    try:
        with open('/proc/loadavg') as f:
            return [float(v) for v in f.read().split()[:3]]
    except OSError:
        return None


def class_names(model: torch.nn.Module,
                classes: Optional[Sequence[str]]) -> List[str]:
    """The classes to segment: ``classes`` (names or a dataset's), else the
    config's.

    Raises:
        ValueError: fewer than two.
    """
    names = (
        resolve_class_names(classes)
        if classes is not None else list(model.class_names or ()))
    if len(names) < 2:
        raise ValueError('give --classes: the config names no classes')
    return names


def save_random_weights(model: torch.nn.Module, work_dir: str) -> str:
    """``model``'s weights and config as a checkpoint in ``work_dir``, for
    the PyTorch engine to load as ``tools/infer.py`` loads one."""
    path = osp.join(work_dir, 'random_weights.pth')
    torch.save(
        dict(
            meta=dict(cfg=model.cfg.pretty_text),
            state_dict=model.state_dict()), path)
    return path


def export_models(model: torch.nn.Module, model_dir: str,
                  int8: bool) -> Tuple[Dict[str, Any], List[str]]:
    """Exports ``model`` into ``model_dir`` (and an int8 copy of its image
    model with ``int8``).

    Returns:
        Per file its export ``seconds`` and size in ``mib``; and the image
        models' paths, the float32 one first.
    """
    exported = onnx_export.export_onnx(
        None, None, model_dir, overwrite=True, model=model)
    export = {
        name:
        dict(
            seconds=exported.seconds.get(name),
            mib=exported.files[name] / 2**20)
        for name in (onnx_export.IMAGE_MODEL, onnx_export.TEXT_ENCODER)
    }
    files = [osp.join(model_dir, onnx_export.IMAGE_MODEL)]
    if int8:
        path, seconds = quantize_int8(model_dir,
                                      exported.manifest['export_id'])
        export[osp.basename(path)] = dict(
            seconds=seconds, mib=osp.getsize(path) / 2**20)
        files.append(path)
    return export, files


def engine_specs(checkpoint: str,
                 model_dir: str,
                 image_models: Sequence[str],
                 levels: Sequence[str] = ('all', 'basic'),
                 batched: bool = True) -> Dict[str, Dict[str, Any]]:
    """The engines to time, by name, as :class:`Worker` specs (without the
    settings they share): PyTorch first (the reference), the runtime at
    each optimisation level, the first level with all windows at once
    (``batched``), and each further (int8) image model."""
    runtime = dict(engine='onnxruntime', model_dir=model_dir)
    specs = {'pytorch': dict(engine='pytorch', checkpoint=checkpoint)}
    for level in levels:
        specs[f'onnxruntime ({level})'] = dict(
            runtime, graph_optimization=level)
    if batched:
        specs[f'onnxruntime ({levels[0]}), all windows at once'] = dict(
            runtime, graph_optimization=levels[0], windows_per_batch=None)
    if len(image_models) > 1:
        specs['onnxruntime int8 (all)'] = dict(
            runtime, image_model=image_models[1])
    return specs


def time_engines(specs: Dict[str, Dict[str, Any]], common: Dict[str, Any],
                 work_dir: str,
                 rounds: int) -> List[Tuple['Worker', Dict[str, Any]]]:
    """Starts a process per engine (with the settings ``common``: the
    ``threads``, ``image``, ``classes`` and ``templates``), runs each once
    untimed (it also embeds the classes), then ``rounds`` timed images, the
    engines in turn.

    Returns:
        Each engine's :class:`Worker` (its load, first and timed seconds)
        and its last answer (peak memory, imports).
    """
    env = dict(os.environ, OMP_NUM_THREADS=str(common['threads']))
    workers = []
    try:
        for i, (name, spec) in enumerate(specs.items()):
            spec = dict(spec, out=osp.join(work_dir, f'engine{i}'), **common)
            workers.append(Worker(name, spec, env))
        for worker in workers:
            worker.run(timed=False)
        for _ in range(rounds):
            for worker in workers:
                worker.run()
        ends = [worker.quit() for worker in workers]
    finally:
        for worker in workers:
            worker.kill()
    return list(zip(workers, ends))


def compare_engines(timed: List[Tuple['Worker', Dict[str, Any]]],
                    image: str) -> Tuple[Dict[str, Any], List[int]]:
    """Each engine's timings, memory and agreement with the first engine
    (PyTorch): its labels, where they differ the PyTorch scores' margin
    (:func:`pytorch_score_gap`), and its class embeddings' cosine.

    Returns:
        The ``engines`` of :func:`benchmark_onnx`, and the labels' shape.
    """
    reference = timed[0][0].spec
    labels = np.load(reference['out'] + '_labels.npy')
    embeddings = np.load(reference['out'] + '_embeddings.npy')
    gap = pytorch_score_gap(reference['checkpoint'], image, embeddings, labels)
    engines = {}
    for worker, end in timed:
        ours = np.load(worker.spec['out'] + '_labels.npy')
        theirs = np.load(worker.spec['out'] + '_embeddings.npy')
        cosine = (theirs * embeddings).sum(-1) / (
            np.linalg.norm(theirs, axis=-1) *
            np.linalg.norm(embeddings, axis=-1))
        engines[worker.name] = dict(
            load_s=worker.load_s,
            first_image_s=worker.first_s,
            seconds=worker.times,
            peak_rss_mib=end['peak_rss_mib'],
            imported_torch=end['imported_torch'],
            labels_identical=float((ours == labels).mean()),
            labels_differing=int((ours != labels).sum()),
            largest_gap_where_labels_differ=float(
                gap[ours != labels].max(initial=0)),
            embedding_cosine_min=float(cosine.min()),
            embedding_cosine_min_first_20=float(cosine[:20].min()))
    return engines, list(labels.shape)


def benchmark_onnx(config: Optional[str],
                   checkpoint: Optional[str],
                   work_dir: str,
                   image_size: Tuple[int, int] = (512, 683),
                   classes: Optional[Sequence[str]] = None,
                   templates: str = 'single',
                   rounds: int = 3,
                   threads: Optional[int] = None,
                   int8: bool = True,
                   levels: Sequence[str] = ('all', 'basic'),
                   batched: bool = True,
                   cfg_options: Optional[dict] = None) -> Dict[str, Any]:
    """Exports a model and times it against PyTorch (see the module's
    docstring).

    Args:
        config: Config file (default: the checkpoint's).
        checkpoint: Weights (default: random, saved into ``work_dir``).
        work_dir: Where the checkpoint, the model folder, the image and
            the engines' labels go.
        image_size: The test image's ``(H, W)``.
        classes: Class names (default: the config's).
        templates: Prompt templates of both engines.
        rounds: Timed images per engine, in turn.
        threads: Threads of every engine (default: one per core).
        int8: Also time an int8 copy of the image model.
        levels: onnxruntime graph optimisation levels to time (the
            runtime's default, one window at a time).
        batched: Also time the first level with all of the image's
            windows through the image model at once.
        cfg_options: Config overrides.

    Returns:
        ``machine`` (:func:`~cascade_clip.utils.machine.describe_machine`,
        with onnx and onnxruntime), ``load_average``, ``setting``,
        ``export`` (seconds and MiB per file), ``agreement`` and
        ``engines`` (per engine: load, first image and timed seconds, peak
        resident memory).
    """
    threads = threads or os.cpu_count()
    os.makedirs(work_dir, exist_ok=True)
    load_before = _load_average()
    torch.set_num_threads(threads)
    model = init_model(config, checkpoint, 'cpu', cfg_options)
    names = class_names(model, classes)
    weights = checkpoint or save_random_weights(model, work_dir)
    model_dir = osp.join(work_dir, 'onnx')
    export, image_models = export_models(model, model_dir, int8)
    agreement: Dict[str, Any] = dict(
        window_scores_max_abs_diff=window_agreement(model, image_models,
                                                    len(names)))
    del model
    image = write_test_image(
        osp.join(work_dir, 'image.png'), tuple(image_size))
    timed = time_engines(
        engine_specs(weights, model_dir, image_models, levels, batched),
        dict(threads=threads, image=image, classes=names, templates=templates),
        work_dir, rounds)
    engines, agreement['labels_shape'] = compare_engines(timed, image)
    return dict(
        machine=describe_machine('cpu', libraries=('onnx', 'onnxruntime')),
        load_average=dict(before=load_before, after=_load_average()),
        setting=dict(
            config=config,
            checkpoint=checkpoint,
            image_size=list(image_size),
            classes=len(names),
            templates=templates,
            rounds=rounds),
        export=export,
        agreement=agreement,
        engines=engines)


def format_onnx_benchmark(result: Dict[str, Any]) -> str:
    """Markdown tables of a :func:`benchmark_onnx` result."""
    machine = result['machine']
    setting = result['setting']
    lines = [
        f'{machine["cpu"]}, {machine["cpu_cores"]} cores, '
        f'{machine["threads"]} threads per engine; torch '
        f'{machine["torch"]}, onnxruntime {machine["onnxruntime"]}, onnx '
        f'{machine["onnx"]}; commit {machine["commit"]}; load average '
        f'before {result["load_average"]["before"]}, after '
        f'{result["load_average"]["after"]}',
        f'one {setting["image_size"][0]}x{setting["image_size"][1]} image, '
        f'{setting["classes"]} classes ({setting["templates"]} template), '
        f'{setting["rounds"]} rounds, the engines in turn', '',
        '| engine | load | first image (embeds the classes) | per image '
        '(each round) | peak RSS | labels = PyTorch\'s | embeddings '
        'cosine (min) |', '|---|---|---|---|---|---|---|'
    ]
    torch_times = result['engines']['pytorch']['seconds']
    for name, engine in result['engines'].items():
        times = ' / '.join(f'{s:.3g}' for s in engine['seconds'])
        ratio = ''
        if name != 'pytorch' and engine['seconds']:
            speedup = np.median(torch_times) / np.median(engine['seconds'])
            ratio = f' ({speedup:.2f}x)'
        differing = engine['labels_differing']
        where = (f' ({differing} px, margins <= '
                 f'{engine["largest_gap_where_labels_differ"]:.1e})'
                 if differing else '')
        lines.append(f'| {name} | {engine["load_s"]:.1f} s | '
                     f'{engine["first_image_s"]:.3g} s | {times} s{ratio} | '
                     f'{engine["peak_rss_mib"]:,.0f} MiB | '
                     f'{100 * engine["labels_identical"]:.3f}%{where} | '
                     f'{engine["embedding_cosine_min"]:.7f} |')
    lines += ['', '| file | export | size |', '|---|---|---|']
    for name, entry in result['export'].items():
        seconds = entry['seconds']
        took = f'{seconds:.1f} s' if seconds is not None else ''
        lines.append(f'| {name} | {took} | {entry["mib"]:,.1f} MiB |')
    lines += [
        '', 'per-window scores against PyTorch (max abs diff): ' +
        ', '.join(f'{k} {v:.2e}' for k, v in result['agreement']
                  ['window_scores_max_abs_diff'].items())
    ]
    return '\n'.join(lines)
