"""What a long class list costs at test time: the one-off text embedding
and, per image, time and memory, for the first K classes of a config's list.

The class embeddings are computed once (``get_class_embeddings`` caches
them); :func:`measure_vocabulary_cost` also counts the text encoder's calls
while images are segmented, which must be 0. What grows with K per image is
the score maps: ``K x H x W`` floats per window batch and per image.
"""
import time
from typing import List, Optional, Sequence

import torch

from ..apis.model import init_model
from ..utils.memory import peak_memory
from .benchmark import _sample, _sync


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
        x W`` float32 map), ``peak_memory_kind`` (see
        :func:`~cascade_clip.utils.memory.peak_memory`),
        ``encoder_calls_during_images`` (0: the
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
                peak_memory_mib=memory['above_start_mib'],
                peak_memory_kind=memory['kind'],
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
