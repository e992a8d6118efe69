"""FLOPs and parameter counts of a segmentor built from a config;
``tools/flops.py`` is a thin layer over :func:`get_model_complexity`.

FLOPs are fvcore's: one fused multiply-add counts as one flop, and only the
operators it has a handle for are counted (linear layers, matmuls,
convolutions, layer norms, bilinear resizes, and here also fused attention);
element-wise operators are not.
"""
import warnings
from math import prod
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from torch import nn

from ..apis.model import init_model

# The paper's counts of its COCO-Stuff 171 model (inductive, 50 prompt
# tokens), measured on its code; 9,464,832 of them are the decoder
# self-attention and ``norm1`` parameters that its forward pass never uses.
PAPER_COCO_PARAMS = dict(
    total=193_088_774, trainable=40_463_622, unused_decoder=9_464_832)


def _shape(value) -> Optional[List[int]]:
    if not value.isCompleteTensor():
        return None
    return value.type().sizes()


def sdpa_flop_jit(inputs: List[Any], outputs: List[Any]) -> int:
    """fvcore handle of ``aten::scaled_dot_product_attention``.

    Counts the two matmuls of the explicit attention, ``q @ k^T`` and
    ``attn @ v``, in fvcore's units (one multiply-add, one flop): for ``q
    (..., L, E)``, ``k (..., S, E)`` and ``v (..., S, Ev)``,
    ``prod(...) * L * S * (E + Ev)``. A causal mask is counted as full,
    as the explicit path computes every score.
    """
    q, k, v = (_shape(x) for x in inputs[:3])
    *batch, length, dim = q
    return prod(batch) * length * k[-2] * (dim + v[-1])


def count_parameters(model: nn.Module) -> Dict[str, Any]:
    """Total and trainable (``requires_grad``) parameter counts, overall and
    per top-level module; buffers are not parameters and are counted
    apart."""

    def counts(module):
        params = list(module.parameters())
        return dict(
            total=sum(p.numel() for p in params),
            trainable=sum(p.numel() for p in params if p.requires_grad))

    result = counts(model)
    result['by_module'] = {
        name: counts(child)
        for name, child in model.named_children()
        if any(True for _ in child.parameters())
    }
    result['buffers'] = sum(b.numel() for b in model.buffers())
    return result


def is_paper_architecture(model: nn.Module) -> bool:
    """Whether ``model`` is Cascade-CLIP: a ``ZeroShotEncoderDecoder`` with a
    ``CascadeHead``."""
    from ..models.decode_heads.cascade_head import CascadeHead
    from ..models.segmentors import ZeroShotEncoderDecoder
    return isinstance(model, ZeroShotEncoderDecoder) and isinstance(
        getattr(model, 'decode_head', None), CascadeHead)


class _TensorMode(nn.Module):
    """Calls a segmentor in ``tensor`` mode, for fvcore's tracer; the
    segmentor is the child ``segmentor``."""

    def __init__(self, segmentor: nn.Module):
        super().__init__()
        self.segmentor = segmentor

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.segmentor(inputs, mode='tensor')


def cache_class_embeddings(model: nn.Module) -> Optional[str]:
    """Has a segmentor cache its class embeddings before counting or timing,
    with placeholders where the text encoder would compute them (see
    ``ZeroShotEncoderDecoder.cache_class_embeddings``).

    Returns:
        Where the embeddings come from (``'placeholder'``, ``'file'``,
        ``'given'``, ``'text encoder'`` or ``'every pass'``); ``None`` for a
        model without class embeddings.
    """
    if not hasattr(model, 'cache_class_embeddings'):
        return None
    return model.cache_class_embeddings(placeholder=True)


def count_flops(model: nn.Module,
                shape: Tuple[int, int] = (512, 512),
                batch_size: int = 1) -> Dict[str, Any]:
    """fvcore's FLOPs of one ``tensor``-mode forward pass (image encoder
    and decode head on every class) of a random ``(batch_size, 3, *shape)``
    image.

    The class embeddings are cached before counting (see
    :func:`cache_class_embeddings`), so the text encoder is not counted.
    The model is put in eval mode.

    Returns:
        ``flops`` (total), ``by_module`` (per top-level module),
        ``by_operator``, ``uncounted_ops`` (operator -> calls that fvcore
        has no handle for, e.g. element-wise ones) and ``class_embeddings``
        (their source, see :func:`cache_class_embeddings`).
    """
    with warnings.catch_warnings():
        # fvcore scripts a helper with torch.jit at import, which torch
        # >= 2.10 calls deprecated; nothing here depends on it
        warnings.filterwarnings(
            'ignore', message='`torch.jit.script` is deprecated')
        from fvcore.nn import FlopCountAnalysis
    model.eval()
    embeddings = cache_class_embeddings(model)
    device = next(model.parameters()).device
    inputs = torch.randn(batch_size, 3, *shape, device=device)
    with torch.no_grad():
        analysis = FlopCountAnalysis(_TensorMode(model), (inputs, ))
        analysis.set_op_handle('aten::scaled_dot_product_attention',
                               sdpa_flop_jit)
        analysis.unsupported_ops_warnings(False)
        analysis.uncalled_modules_warnings(False)
        analysis.tracer_warnings('none')
        total = analysis.total()
        by_module = analysis.by_module()
        by_operator = analysis.by_operator()
        uncounted = analysis.unsupported_ops()
    return dict(
        flops=int(total),
        by_module={
            name: int(by_module.get(f'segmentor.{name}', 0))
            for name, _ in model.named_children()
        },
        by_operator={
            op: int(n)
            for op, n in by_operator.items()
        },
        uncounted_ops=dict(uncounted),
        class_embeddings=embeddings)


def model_complexity(model: nn.Module,
                     shape: Sequence[int] = (512, 512),
                     flops: bool = True) -> Dict[str, Any]:
    """FLOPs and parameters of a built model, reconciled with the paper's
    parameter counts when it is Cascade-CLIP.

    Args:
        model: The segmentor.
        shape: Input ``(H, W)``; one value means a square.
        flops: Count FLOPs (else only parameters).

    Returns:
        ``shape``, ``model`` (class name), ``params`` (see
        :func:`count_parameters`), ``flops`` (see :func:`count_flops`, or
        ``None``) and ``paper``: ``None``, or for Cascade-CLIP ``unused``
        (see ``CascadeHead.paper_unused_parameters``),
        ``total``/``trainable`` (the counts the paper's code would give:
        ours plus its unused decoder parameters) and ``reported``
        (:data:`PAPER_COCO_PARAMS`).
    """
    shape = tuple(int(s) for s in shape)
    if len(shape) == 1:
        shape = shape * 2
    if len(shape) != 2 or min(shape) < 1:
        raise ValueError(f'shape must be H W or one side, got {shape}')
    result = dict(
        shape=shape,
        model=type(model).__name__,
        params=count_parameters(model),
        flops=count_flops(model, shape) if flops else None,
        paper=None)
    if is_paper_architecture(model):
        unused = model.decode_head.paper_unused_parameters()
        result['paper'] = dict(
            unused=unused,
            total=result['params']['total'] + unused['total'],
            trainable=result['params']['trainable'] + unused['trainable'],
            reported=dict(PAPER_COCO_PARAMS))
    return result


def get_model_complexity(config: str,
                         shape: Sequence[int] = (512, 512),
                         cfg_options: Optional[dict] = None,
                         flops: bool = True) -> Dict[str, Any]:
    """:func:`model_complexity` of a config's model (random weights, on the
    CPU), with ``config`` added to the result.

    Args:
        config: Config file.
        shape: Input ``(H, W)``; one value means a square.
        cfg_options: Config overrides.
        flops: Count FLOPs (else only parameters).
    """
    torch.manual_seed(0)
    # On the CPU the tracer sees scaled_dot_product_attention as one
    # operator, which the added handle counts; CUDA may dispatch it to
    # kernels that fvcore does not know.
    model = init_model(config, device='cpu', cfg_options=cfg_options)
    return dict(config=config, **model_complexity(model, shape, flops))


def _row(cells: Sequence[str], widths: Sequence[int]) -> str:
    return '| ' + ' | '.join(
        cell.ljust(w) if i == 0 else cell.rjust(w)
        for i, (cell, w) in enumerate(zip(cells, widths))) + ' |'


def _table(header: Sequence[str], rows: List[Sequence[str]]) -> str:
    widths = [
        max(len(r[i]) for r in [header] + rows) for i in range(len(header))
    ]
    rule = '|' + '|'.join('-' * (w + 2) for w in widths) + '|'
    return '\n'.join([_row(header, widths), rule] +
                     [_row(r, widths) for r in rows])


_TEXT_NOTES = {
    'placeholder':
    '- The text encoder is not counted: the class embeddings are cached '
    'before counting (random placeholders: FLOPs depend only on their '
    'shape).',
    'file':
    '- The text encoder is not counted: the class embeddings are cached '
    'before counting (from the config\'s text_embeddings file).',
    'given':
    '- The text encoder is not counted: the class embeddings were given.',
    'text encoder':
    '- The text encoder is not counted: the class embeddings are cached '
    'before counting.',
    'every pass':
    '- The text encoder trains, so it runs in every pass and is counted.',
}


def format_complexity(result: Dict[str, Any]) -> str:
    """The result of :func:`get_model_complexity` (or
    :func:`model_complexity`) as text tables."""
    height, width = result['shape']
    params = result['params']
    source = f' ({result["config"]})' if result.get('config') else ''
    lines = [f'Model: {result["model"]}{source}', '']
    flops = result['flops']
    if flops is not None:
        rows = [[
            name, f'{flops["by_module"][name]:,}',
            f'{flops["by_module"][name] / 1e9:.3f}'
        ] for name in params['by_module']]
        rows.append(
            ['total', f'{flops["flops"]:,}', f'{flops["flops"] / 1e9:.3f}'])
        rows += [[f'op: {op}', f'{count:,}', f'{count / 1e9:.3f}']
                 for op, count in sorted(flops['by_operator'].items())]
        lines += [
            f'FLOPs of one forward pass, input 1x3x{height}x{width} '
            '(tensor mode: image encoder + decode head on all classes)',
            _table(['module / operator', 'FLOPs', 'GFLOPs'], rows),
            '- fvcore counts one fused multiply-add as one flop.',
            _TEXT_NOTES.get(flops['class_embeddings'], '-'),
            '- scaled_dot_product_attention is counted by a custom handle '
            '(its q @ k^T and attn @ v).',
            '- Not counted (no fvcore handle; element-wise): ' + ', '.join(
                sorted(
                    op.replace('aten::', '')
                    for op in flops['uncounted_ops'])), ''
        ]
    rows = [[name, f'{c["total"]:,}', f'{c["trainable"]:,}']
            for name, c in params['by_module'].items()]
    rows.append(['total', f'{params["total"]:,}', f'{params["trainable"]:,}'])
    lines += [
        'Parameters',
        _table(['module', 'total', 'trainable'], rows),
        f'- Buffers (not parameters, not counted): {params["buffers"]:,} '
        'elements.'
    ]
    paper = result['paper']
    if paper is not None:
        unused, reported = paper['unused'], paper['reported']
        rows = [
            ['this model', f'{params["total"]:,}', f'{params["trainable"]:,}'],
            [
                f'+ unused decoder self_attn/norm1 ({unused["layers"]} x '
                f'{unused["per_layer"]:,})', f'{unused["total"]:,}',
                f'{unused["trainable"]:,}'
            ],
            [
                '= the paper\'s code would count', f'{paper["total"]:,}',
                f'{paper["trainable"]:,}'
            ],
            [
                'paper\'s COCO-Stuff 171 model (its code)',
                f'{reported["total"]:,}', f'{reported["trainable"]:,}'
            ],
        ]
        same = (
            paper['total'] == reported['total']
            and paper['trainable'] == reported['trainable'])
        lines += [
            '', 'Reconciliation with the paper\'s counts',
            _table(['', 'total', 'trainable'], rows),
            '- Each paper decoder layer also holds a self-attention '
            '(in_proj 3CxC+3C, out_proj CxC+C) and a norm1 (2C) that its '
            'forward pass never uses; this project has no such parameters.',
            f'- The paper\'s COCO-Stuff 171 model holds '
            f'{reported["unused_decoder"]:,} such parameters; computed here '
            f'from this model\'s widths: {unused["total"]:,}.',
            '- The paper\'s loss `empty_weight` is a buffer, not a parameter: '
            'it is in neither count.',
            '- This config ' + ('matches' if same else 'differs from') +
            ' the paper\'s COCO-Stuff 171 model (the paper reports '
            f'{reported["total"] / 1e6:.1f}M total, '
            f'{reported["trainable"] / 1e6:.1f}M trainable).'
        ]
    return '\n'.join(lines)
