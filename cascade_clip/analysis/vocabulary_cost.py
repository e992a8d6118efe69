"""What a long class list costs at test time: the one-off text embedding
and, per image, time and memory, for the first K classes of a config's list.

The class embeddings are computed once (``get_class_embeddings`` caches
them); :func:`measure_vocabulary_cost` also counts the text encoder's calls
while images are segmented, which must be 0. What grows with K per image is
the score maps: ``K x H x W`` floats per window batch and per image.
"""
import ctypes
import os
import threading
import time
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Sequence

import torch

from ..apis.model import init_model
from .benchmark import _sample, _sync

_PAGE = os.sysconf('SC_PAGE_SIZE') if hasattr(os, 'sysconf') else 4096


def _rss_bytes() -> Optional[int]:
    """Resident memory of this process (Linux), else ``None``."""
    try:
        with open('/proc/self/statm') as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


def _return_free_memory() -> None:
    """Gives the memory the C allocator holds but no longer uses back to the
    system (glibc's ``malloc_trim``; nothing elsewhere). Without it, memory
    freed by an earlier image stays resident and is reused, and a block
    that allocates no more than that shows no growth (0 MiB)."""
    try:
        # the symbols the process has loaded, libc's among them (no search
        # for the library file, which find_library does with a subprocess)
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError, TypeError):
        pass


@contextmanager
def peak_memory(device: torch.device) -> Iterator[Dict[str, float]]:
    """Peak memory above the level at entry, in MiB, while the block runs:
    CUDA's allocator peak on a GPU; on the CPU the resident memory sampled
    every millisecond (Linux; ``None`` elsewhere), after the allocator's
    free memory is returned to the system (:func:`_return_free_memory`), so
    that what the block allocates shows even where an earlier block freed
    it."""
    result: Dict[str, Optional[float]] = dict(peak_mib=None)
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        start = torch.cuda.memory_allocated(device)
        yield result
        torch.cuda.synchronize(device)
        result['peak_mib'] = (torch.cuda.max_memory_allocated(device) -
                              start) / 2**20
        return
    _return_free_memory()
    start = _rss_bytes()
    if start is None:
        yield result
        return
    peak = [start]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _rss_bytes() or 0)
            time.sleep(0.001)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield result
    finally:
        done.set()
        sampler.join()
        peak[0] = max(peak[0], _rss_bytes() or 0)
        result['peak_mib'] = (peak[0] - start) / 2**20


def measure_vocabulary_cost(config: str,
                            class_counts: Optional[Sequence[int]] = None,
                            image_size: Sequence[int] = (512, 683),
                            images: int = 3,
                            device: Optional[str] = None,
                            checkpoint: Optional[str] = None,
                            cfg_options: Optional[dict] = None) -> List[dict]:
    """Times the text embedding and the segmentation of random images for
    the first K of the config's classes, for each K.

    Args:
        config: Config file (its ``class_names`` and ``prompt_templates``).
        class_counts: The Ks (default: all the config's classes).
        image_size: ``(H, W)`` of the test images as the model gets them.
        images: Timed images per K (after one untimed).
        device: ``'cpu'`` or ``'cuda'`` (default: CUDA where available).
        checkpoint: Weights (default: random; costs do not depend on them).
        cfg_options: Config overrides.

    Returns:
        Per K: ``classes``, ``prompts``, ``embedding_s`` (computing all
        embeddings once), ``seconds_per_image``, ``peak_memory_mib`` (peak
        above the level before the images), ``score_map_mib`` (one ``K x H
        x W`` float32 map), ``encoder_calls_during_images`` (0: the
        embeddings are not recomputed).
    """
    torch.manual_seed(0)
    # random weights unless a checkpoint is given: costs do not depend on them
    model = init_model(config, checkpoint, device, cfg_options)
    device = model.device
    names = list(model.class_names)
    templates = model.embeddings.templates
    counts = list(class_counts or [len(names)])
    bad = [k for k in counts if not 2 <= k <= len(names)]
    if bad:
        raise ValueError(f'class counts {bad} are not between 2 and the '
                         f'{len(names)} classes of {config}')
    calls = []
    encode = model.text_encoder.encode

    def counting_encode(texts):
        calls.append(len(texts))
        return encode(texts)

    model.text_encoder.encode = counting_encode
    generator = torch.Generator().manual_seed(0)
    image = torch.randint(
        0, 256, (3, *image_size), dtype=torch.uint8, generator=generator)
    results = []
    for count in counts:
        model.set_classes(names[:count], templates)
        calls.clear()
        with torch.no_grad():
            _sync(device)
            start = time.perf_counter()
            model.get_class_embeddings()
            _sync(device)
            embedding_s = time.perf_counter() - start
            prompts = sum(calls)
            calls.clear()
            data = dict(inputs=[image], data_samples=[_sample(image_size)])
            model.test_step(data)  # untimed
            with peak_memory(device) as memory:
                start = time.perf_counter()
                for _ in range(images):
                    model.test_step(
                        dict(
                            inputs=[image],
                            data_samples=[_sample(image_size)]))
                _sync(device)
                seconds = (time.perf_counter() - start) / images
        results.append(
            dict(
                classes=count,
                prompts=prompts,
                embedding_s=embedding_s,
                seconds_per_image=seconds,
                peak_memory_mib=memory['peak_mib'],
                score_map_mib=count * image_size[0] * image_size[1] * 4 /
                2**20,
                encoder_calls_during_images=len(calls)))
    return results


def format_vocabulary_cost(results: List[dict]) -> str:
    """The results as a Markdown table."""
    lines = [
        '| classes | prompts embedded once | embedding (s, once) | '
        's / image | peak memory above start (MiB) | one K x H x W map '
        '(MiB) | text-encoder calls while segmenting |',
        '|---|---|---|---|---|---|---|'
    ]
    for r in results:
        memory = ('n/a' if r['peak_memory_mib'] is None else
                  f'{r["peak_memory_mib"]:.0f}')
        lines.append(
            f'| {r["classes"]} | {r["prompts"]} | {r["embedding_s"]:.2f} | '
            f'{r["seconds_per_image"]:.3f} | {memory} | '
            f'{r["score_map_mib"]:.0f} | '
            f'{r["encoder_calls_during_images"]} |')
    return '\n'.join(lines)
