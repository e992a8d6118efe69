"""One engine of :mod:`.onnx_benchmark` in its own process, so that its
peak memory is its own: ``python onnx_benchmark_worker.py SPEC`` (a JSON
object; run as a file, it imports the package only for the PyTorch
engine).

``SPEC``: ``engine`` (``'pytorch'``: ``tools/infer.py``'s segmenter on a
checkpoint; ``'onnxruntime'``: :mod:`cascade_clip_runtime` on a model
folder, without torch), ``checkpoint`` or ``model_dir``, optional
``image_model``, ``graph_optimization`` and ``windows_per_batch``,
``threads``, ``image``,
``classes``, ``templates`` and ``out`` (a path prefix for the first run's
labels and class embeddings).

It prints one JSON line when loaded (``load_s``), then answers each line
of stdin: ``run`` segments the image (``seconds``; the first run also
embeds the classes and saves ``<out>_labels.npy`` and
``<out>_embeddings.npy``), ``quit`` reports ``peak_rss_mib`` and which of
torch and onnxruntime the process imported, and ends.

Its peak memory is the package's own measure
(:func:`cascade_clip.utils.memory.peak_rss_bytes`), whose file it loads by
its path: the runtime's process never imports torch.
"""
import importlib.util
import json
import os.path as osp
import sys
import time
from types import ModuleType
from typing import Any, Callable, Dict, Tuple

import numpy as np

MEMORY = osp.join(
    osp.dirname(osp.dirname(osp.abspath(__file__))), 'utils', 'memory.py')


def load_file(name: str, path: str) -> ModuleType:
    """The module in the file ``path``, imported without its package."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pytorch(spec: Dict[str, Any]) -> Tuple[Callable, Callable]:
    import torch
    torch.set_num_threads(spec['threads'])
    from cascade_clip.apis.inference import OpenVocabularySegmenter
    from cascade_clip_runtime.images import read_image
    segmenter = OpenVocabularySegmenter(
        spec['checkpoint'], templates=spec['templates'], device='cpu')
    image = read_image(spec['image'])

    def segment():
        return segmenter(image, spec['classes']).labels

    def embeddings():
        return segmenter.model.get_class_embeddings().cpu().numpy()

    return segment, embeddings


def _onnxruntime(spec: Dict[str, Any]) -> Tuple[Callable, Callable]:
    from cascade_clip_runtime.images import read_image
    from cascade_clip_runtime.onnx_backend import OnnxSegmenter
    segmenter = OnnxSegmenter(
        spec['model_dir'],
        threads=spec['threads'],
        graph_optimization=spec.get('graph_optimization', 'all'),
        image_model=spec.get('image_model'),
        windows_per_batch=spec.get('windows_per_batch', 1))
    image = read_image(spec['image'])

    def segment():
        return segmenter(image, spec['classes'], spec['templates']).labels

    def embeddings():
        return segmenter.class_embeddings(spec['classes'], spec['templates'])

    return segment, embeddings


def main() -> None:
    memory = load_file('memory', MEMORY)
    spec = json.loads(sys.argv[1])
    start = time.perf_counter()
    engines = dict(pytorch=_pytorch, onnxruntime=_onnxruntime)
    segment, embeddings = engines[spec['engine']](spec)
    print(json.dumps(dict(load_s=time.perf_counter() - start)), flush=True)
    first = True
    for line in sys.stdin:
        command = line.strip()
        if command == 'run':
            start = time.perf_counter()
            labels = segment()
            seconds = time.perf_counter() - start
            if first:
                np.save(spec['out'] + '_labels.npy', labels)
                np.save(spec['out'] + '_embeddings.npy', embeddings())
                first = False
            print(json.dumps(dict(seconds=seconds)), flush=True)
        elif command == 'quit':
            print(
                json.dumps(
                    dict(
                        peak_rss_mib=memory.peak_rss_bytes() / 2**20,
                        imported_torch='torch' in sys.modules,
                        imported_onnxruntime='onnxruntime' in sys.modules)),
                flush=True)
            return


if __name__ == '__main__':
    main()
