"""How far lower precision moves the labels: bfloat16 autocast (``--amp``)
and the int8 ONNX image model, each against float32, with trained weights:
the shapes world's shipped model on its 200 validation scenes (share of
equal pixels; mIoU(S), mIoU(U), hIoU of each), and a golden case's
paper-format checkpoint on its recorded images. ``tools/
precision_agreement.py`` is a thin layer over :func:`measure_agreement`;
docs/speed.md holds its tables.
"""
import os
import os.path as osp
import tempfile
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from ..apis.inference import OpenVocabularySegmenter
from ..checkpoint import model_config_from_official
from ..synthetic.world import CLASSES, write_shapes_voc
from .unlabelled_rule import ShapeScores, validation_scenes


@dataclass
class Agreement:
    """Labels of a lower precision against float32's.

    Attributes:
        what: The model and the images.
        precision: ``'bfloat16'`` or ``'int8'``.
        images: How many.
        equal: Share of the pixels labelled alike (percent).
        equal_min: The lowest share of one image (percent).
        metrics: ``{'float32': {...}, precision: {...}}`` mIoU(S),
            mIoU(U), hIoU (the shapes world only).
    """
    what: str
    precision: str
    images: int
    equal: float
    equal_min: float
    metrics: Dict[str, Dict[str, float]] = field(default_factory=dict)


def _metrics(scores: ShapeScores) -> Dict[str, float]:
    result = scores.result('', '', None)
    return dict(
        miou_seen=result.miou_seen,
        miou_unseen=result.miou_unseen,
        hiou=result.hiou)


def compare_on_scenes(reference, other, scenes: Sequence[tuple], templates,
                      what: str, precision: str) -> Agreement:
    """Two segmenters (float32 and another precision) on the shapes
    world's scenes, all 20 class names."""
    equal = total = 0
    lowest = 100.0
    scores = dict(float32=ShapeScores(), other=ShapeScores())
    for image, truth in scenes:
        ours = reference(image, list(CLASSES), templates).labels
        theirs = other(image, list(CLASSES), templates).labels
        same = int((ours == theirs).sum())
        equal += same
        total += ours.size
        lowest = min(lowest, 100 * same / ours.size)
        scores['float32'].add(truth, ours)
        scores['other'].add(truth, theirs)
    return Agreement(
        what, precision, len(scenes), 100 * equal / total, lowest,
        dict(
            float32=_metrics(scores['float32']),
            **{precision: _metrics(scores['other'])}))


def shapes_bfloat16(checkpoint: str,
                    scenes: Sequence[tuple],
                    device: str = 'cpu') -> Agreement:
    """The shapes model in float32 and under bfloat16 autocast."""
    reference = OpenVocabularySegmenter(checkpoint, device=device)
    lower = OpenVocabularySegmenter(checkpoint, device=device, amp=True)
    templates = reference.cfg.model.get('prompt_templates')
    return compare_on_scenes(reference, lower, scenes, templates,
                             'shapes model, 200 validation scenes', 'bfloat16')


def shapes_int8(checkpoint: str, scenes: Sequence[tuple],
                work_dir: str) -> Agreement:
    """The shapes model exported to ONNX, its image model in float32 and
    quantised to int8 (onnxruntime's dynamic quantisation, as
    ``tools/benchmark_onnx.py --int8`` makes it)."""
    from cascade_clip_runtime.onnx_backend import OnnxSegmenter
    from ..deploy.export import export_onnx
    from .onnx_benchmark import quantize_int8
    folder = osp.join(work_dir, 'shapes_onnx')
    result = export_onnx(None, checkpoint, folder, overwrite=True)
    int8, _ = quantize_int8(folder, result.manifest['export_id'])
    reference = OnnxSegmenter(folder)
    lower = OnnxSegmenter(folder, image_model=int8)
    templates = OpenVocabularySegmenter(
        checkpoint, device='cpu').cfg.model.get('prompt_templates')
    return compare_on_scenes(reference, lower, scenes, templates,
                             'shapes model, 200 validation scenes', 'int8')


def golden_model(case: str) -> Tuple[torch.nn.Module, dict]:
    """A golden case's paper-format checkpoint in this project's model, as
    the golden parity tests build it (dropout off), in eval mode; and the
    case's recording (its ``.pt``: config, images)."""
    from mmengine.runner.checkpoint import load_checkpoint
    from mmseg.registry import MODELS
    data = torch.load(case + '.pt', weights_only=True)
    cfg = model_config_from_official(
        data['official_model_cfg'],
        text_embeddings=case + '.text_embedding.npy')
    cfg['backbone'].update(drop_path_rate=0.0, prompt_dropout=0.0)
    cfg['decode_head'].update(dropout=0.0)
    model = MODELS.build(cfg)
    load_checkpoint(model, case + '.checkpoint.pth', map_location='cpu')
    return model.eval(), data


def golden_bfloat16(case: str) -> Agreement:
    """A golden case's model on its recorded images (``img``, whole; and
    ``slide_img``, sliding windows), float32 against bfloat16 autocast."""
    model, data = golden_model(case)
    images = [data['img'][i:i + 1] for i in range(len(data['img']))]
    labels = {}
    for amp in (False, True):
        model.test_cfg['amp'] = amp
        found = []
        with torch.no_grad():
            for image in images:
                found.append(model.encode_decode(image).argmax(1))
            found.append(model.slide_inference(data['slide_img']).argmax(1))
        labels[amp] = found
    shares = [
        100 * float((a == b).float().mean())
        for a, b in zip(labels[False], labels[True])
    ]
    sizes = [a.numel() for a in labels[False]]
    return Agreement(f'golden case {osp.basename(case)}, recorded images',
                     'bfloat16', len(shares),
                     float(np.average(shares, weights=sizes)), min(shares))


def golden_int8(case: str, work_dir: str) -> Agreement:
    """A golden case's model exported to ONNX, its image model in float32
    and in int8, on the case's recorded windows (its 64x64 images and the
    windows of its sliding-window image) with the case's class
    embeddings."""
    from mmengine.config import Config

    from cascade_clip_runtime.onnx_backend import OnnxBackend
    from cascade_clip_runtime.scores import sliding_windows
    from ..config_files import config_path
    from ..deploy.export import export_onnx
    from .onnx_benchmark import quantize_int8
    model, data = golden_model(case)
    # the tiny configs' test data settings around the case's model
    cfg = Config.fromfile(
        config_path('tiny/cascade-clip_tiny_1xb2-40_voc20-64x64_inductive.py'))
    cfg.model = dict(
        data['official_model_cfg'],
        data_preprocessor=cfg.model.data_preprocessor,
        test_cfg=model.test_cfg)
    model.cfg = cfg
    folder = osp.join(work_dir, osp.basename(case) + '_onnx')
    result = export_onnx(None, None, folder, overwrite=True, model=model)
    int8, _ = quantize_int8(folder, result.manifest['export_id'])
    embeddings = model.get_class_embeddings().detach().numpy()
    shift = np.zeros(len(embeddings), np.float32)
    crop = tuple(model.test_cfg['crop_size'])
    image = data['slide_img'].numpy()
    windows = [data['img'].numpy()] + [
        image[:, :, y1:y2, x1:x2] for y1, y2, x1, x2 in sliding_windows(
            *image.shape[2:], crop, tuple(model.test_cfg['stride']))
    ]
    windows = np.concatenate(windows)
    labels = [
        OnnxBackend(folder,
                    image_model=path).run_image_model(windows, embeddings,
                                                      shift).argmax(1)
        for path in (None, int8)
    ]
    shares = (labels[0] == labels[1]).mean(axis=(1, 2)) * 100
    return Agreement(f'golden case {osp.basename(case)}, recorded windows',
                     'int8', len(shares), float(shares.mean()),
                     float(shares.min()))


@dataclass
class AgreementReport:
    """What :func:`measure_agreement` measured."""
    results: List[Agreement] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def measure_agreement(checkpoint: str,
                      data_dir: str,
                      golden: Sequence[str] = (),
                      int8: bool = True,
                      device: str = 'cpu',
                      work_dir: Optional[str] = None,
                      log=print) -> AgreementReport:
    """bfloat16 (and int8) against float32 on the shapes model's scenes and
    on golden cases' recorded images.

    Args:
        checkpoint: The shapes model (the web demo's shipped one).
        data_dir: Where the shapes world is (written if missing).
        golden: Golden cases (paths without ``.pt``).
        int8: Also the int8 ONNX image model (needs the ``deploy`` extra).
        device: Where the PyTorch models run.
        work_dir: Where the ONNX export goes (default: a temporary folder).
        log: Where each result goes as it is measured.
    """
    scenes = validation_scenes(write_shapes_voc(data_dir))
    report = AgreementReport()
    report.results.append(shapes_bfloat16(checkpoint, scenes, device))
    log(report.results[-1])
    for case in golden:
        report.results.append(golden_bfloat16(case))
        log(report.results[-1])
    if int8:
        with tempfile.TemporaryDirectory() as scratch:
            folder = work_dir or scratch
            os.makedirs(folder, exist_ok=True)
            report.results.append(shapes_int8(checkpoint, scenes, folder))
            log(report.results[-1])
            for case in golden:
                report.results.append(golden_int8(case, folder))
                log(report.results[-1])
    return report


def format_agreement(report: AgreementReport) -> str:
    """The results as a markdown table."""
    lines = [
        '| model and images | precision | images | pixels labelled as in '
        'float32 | lowest image | mIoU(S) / (U) / hIoU, float32 | the same, '
        'lower precision |', '|---|---|---|---|---|---|---|'
    ]
    for r in report.results:
        cells = []
        for key in ('float32', r.precision):
            m = r.metrics.get(key)
            cells.append('' if m is None else
                         f'{m["miou_seen"]:.2f} / {m["miou_unseen"]:.2f} / '
                         f'{m["hiou"]:.2f}')
        lines.append(f'| {r.what} | {r.precision} | {r.images} | '
                     f'{r.equal:.3f}% | {r.equal_min:.2f}% | {cells[0]} | '
                     f'{cells[1]} |')
    return '\n'.join(lines)
