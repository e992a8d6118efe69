"""tools/flops.py and tools/benchmark.py: FLOPs against an analytic count,
parameters against an independent count and the paper's figures, and the
benchmark's fields on the tiny config."""
import json
import math
import os.path as osp
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from conftest import REPO
from fvcore.nn import FlopCountAnalysis
from mmengine.config import Config

from cascade_clip.analysis.benchmark import benchmark, format_benchmark
from cascade_clip.analysis.complexity import (PAPER_COCO_PARAMS,
                                              get_model_complexity,
                                              model_complexity, sdpa_flop_jit)
from cascade_clip_runtime.scores import sliding_windows

TINY = osp.join(REPO, 'configs', 'tiny',
                'cascade-clip_tiny_1xb2-40_voc20-64x64_inductive.py')
COCO = osp.join(
    REPO, 'configs', 'coco',
    'cascade-clip_vit-b16_4xb4-80k_coco-stuff171-512x512_inductive.py')


def analytic_flops(cfg: Config,
                   height: int,
                   width: int,
                   num_classes: int = 20) -> dict:
    """fvcore's count of one tensor-mode pass, written out by hand.

    fvcore counts, per call, (multiply-adds of) ``linear`` prod(input) x
    out_features, ``matmul`` prod(a) x b.shape[-1], convolutions, 5 per
    element of a ``layer_norm`` input and 4 per output element of a bilinear
    resize; our handle counts ``L x S x (E + Ev)`` per head of fused
    attention. Element-wise operators (adds, products, GELU, sigmoid,
    ``F.normalize``) are not counted.
    """
    backbone, head = cfg.model.backbone, cfg.model.decode_head
    d = backbone.width
    p = backbone.patch_size
    prompts = backbone.num_prompt_tokens
    c = head.embed_dims
    k = num_classes  # tensor mode scores every class
    h, w = height // p, width // p
    n = h * w
    length = 1 + prompts + n
    grid = backbone.input_resolution // p

    enc = d * 3 * p * p * n  # patch conv, no bias
    if (h, w) != (grid, grid):
        enc += 4 * d * n  # positional grid resized to (h, w)
    enc += 5 * (1 + n) * d  # ln_pre
    # prompt_proj runs on the (1, P, D) prompts before they are expanded:
    # once for the first block's and once per deep-prompted block.
    enc += (1 + backbone.prompt_depth) * prompts * d * d
    block = (
        5 * length * d  # ln_1
        + length * d * 3 * d  # in_proj
        + 2 * length * length * d  # q @ k^T and attn @ v, all heads
        + length * d * d  # out_proj
        + 5 * length * d  # ln_2
        + 2 * length * d * 4 * d)  # c_fc and c_proj
    enc += backbone.layers * block
    stages = len(backbone.out_indices)
    enc += stages * 5 * n * d  # prompt_norm of each stage's patch tokens
    enc += 5 * length * d  # prompt_norm of the final sequence
    enc += stages * (5 * n * d + n * d * c)  # ln_layers, proj_layers
    enc += 5 * (1 + n) * d + (1 + n) * d * c  # ln_post, proj

    full_layer = (
        k * c * c  # q
        + 2 * n * c * c  # k, v
        + 2 * k * n * c  # fused cross-attention
        + k * c * c  # proj
        + 5 * k * c  # norm_attn
        + 2 * k * c * 4 * c  # linear1, linear2
        + 5 * k * c)  # norm_ffn
    last_layer = k * c * c + n * c * c + k * c * n  # q, k, q @ k^T
    decoder = (head.num_layers - 1) * full_layer + last_layer
    num_stages = len(head.stages)
    dec = num_stages * (k * 2 * c * c + decoder)  # q_proj + decoder
    dec += 4 * k * head.img_size * head.img_size  # resize to img_size
    return dict(backbone=enc, decode_head=dec, total=enc + dec)


def build(config: str):
    from mmseg.registry import MODELS
    cfg = Config.fromfile(config)
    cfg.model.pretrained = None
    return cfg, MODELS.build(cfg.model)


def independent_params(model) -> dict:
    """Counts by the default freezing: the backbone's prompt parameters and
    the whole decode head train."""
    named = dict(model.named_parameters())
    trainable = [
        name for name in named
        if (name.startswith('backbone.') and 'prompt' in name)
        or name.startswith('decode_head.')
    ]
    return dict(
        total=sum(p.numel() for p in named.values()),
        trainable=sum(named[name].numel() for name in trainable))


@pytest.fixture(scope='module')
def tiny_square():
    return get_model_complexity(TINY, shape=(64, ))


def test_tiny_flops_match_the_analytic_count(tiny_square):
    cfg = Config.fromfile(TINY)
    for result in (tiny_square, get_model_complexity(TINY, shape=(48, 80))):
        expected = analytic_flops(cfg, *result['shape'])
        flops = result['flops']
        assert flops['flops'] == expected['total'], result['shape']
        assert flops['by_module']['backbone'] == expected['backbone']
        assert flops['by_module']['decode_head'] == expected['decode_head']
        assert flops['by_module']['text_encoder'] == 0
        assert 'aten::scaled_dot_product_attention' not in flops[
            'uncounted_ops']
        assert flops['by_operator']['scaled_dot_product_attention'] > 0


def test_tiny_parameters_match_an_independent_count(tiny_square):
    params = tiny_square['params']
    assert {
        k: params[k]
        for k in ('total', 'trainable')
    } == independent_params(build(TINY)[1])
    by_module = params['by_module']
    assert set(by_module) == {'backbone', 'text_encoder', 'decode_head'}
    assert sum(m['total'] for m in by_module.values()) == params['total']
    assert by_module['text_encoder']['trainable'] == 0
    # Each of the 3 x 3 decoder layers of width 32 misses the paper's
    # self-attention (4 * 32 * 32 + 4 * 32) and norm1 (2 * 32).
    paper = tiny_square['paper']
    assert paper['unused']['total'] == 9 * (4 * 32 * 32 + 6 * 32)
    assert paper['total'] == params['total'] + paper['unused']['total']


def test_sdpa_handle_counts_what_the_explicit_attention_does():
    """fvcore counts the explicit q @ k^T and attn @ v as two matmuls; the
    handle gives the fused call the same count, causal or not, with a
    query length other than the key length."""

    class Attention(torch.nn.Module):

        def __init__(self, fused, causal=False):
            super().__init__()
            self.fused, self.causal = fused, causal

        def forward(self, q, k, v):
            if self.fused:
                return F.scaled_dot_product_attention(
                    q, k, v, is_causal=self.causal)
            return (q @ k.transpose(-2, -1)).softmax(-1) @ v

    q, k, v = (torch.randn(2, 3, 5,
                           8), torch.randn(2, 3, 7,
                                           8), torch.randn(2, 3, 7, 4))

    def count(module, *inputs):
        analysis = FlopCountAnalysis(module, inputs)
        analysis.set_op_handle('aten::scaled_dot_product_attention',
                               sdpa_flop_jit)
        analysis.unsupported_ops_warnings(False)
        return analysis.total()

    explicit = count(Attention(False), q, k, v)
    assert explicit == 2 * 3 * 5 * 7 * (8 + 4)
    assert count(Attention(True), q, k, v) == explicit
    square = (q, torch.randn(2, 3, 5, 8), torch.randn(2, 3, 5, 4))
    assert count(Attention(True, causal=True),
                 *square) == count(Attention(False), *square)


def test_fused_and_explicit_attention_count_the_same(tiny_square):
    explicit = get_model_complexity(
        TINY,
        shape=(64, 64),
        cfg_options={
            'model.backbone.fused_attn': False,
            'model.decode_head.fused_attn': False
        })
    assert explicit['flops']['flops'] == tiny_square['flops']['flops']
    assert 'scaled_dot_product_attention' not in explicit['flops'][
        'by_operator']


def test_coco_at_512_flops_and_parameters_reconcile_with_the_paper():
    """The real COCO-Stuff config: FLOPs as the analytic count says, and the
    paper's 193,088,774 / 40,463,622 parameters are ours plus its unused
    decoder self-attention and norm1 parameters, all of which it trains."""
    cfg, model = build(COCO)
    result = model_complexity(model, shape=(512, 512))
    expected = analytic_flops(cfg, 512, 512, num_classes=171)
    assert result['flops']['flops'] == expected['total']
    assert result['flops']['by_module']['backbone'] == expected['backbone']
    params, paper = result['params'], result['paper']
    assert {
        k: params[k]
        for k in ('total', 'trainable')
    } == independent_params(model)
    unused = paper['unused']
    assert unused['layers'] == 9
    assert unused['per_layer'] == 4 * 512 * 512 + 6 * 512
    assert unused['total'] == PAPER_COCO_PARAMS['unused_decoder']
    assert unused['trainable'] == unused['total']
    assert params['total'] + unused['total'] == 193_088_774
    assert params['trainable'] + unused['trainable'] == 40_463_622
    assert paper['total'] == PAPER_COCO_PARAMS['total']
    assert paper['trainable'] == PAPER_COCO_PARAMS['trainable']


def test_flops_tool_prints_the_tables():
    out = subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools', 'flops.py'), TINY, '--shape', '64', '96'
    ],
                         capture_output=True,
                         text=True,
                         check=True,
                         cwd=REPO).stdout
    cfg = Config.fromfile(TINY)
    assert f'{analytic_flops(cfg, 64, 96)["total"]:,}' in out
    assert 'one fused multiply-add as one flop' in out
    assert 'text encoder is not counted' in out
    assert '| total ' in out and 'Reconciliation' in out


def test_benchmark_fields_on_the_tiny_config():
    result = benchmark(
        TINY,
        device='cpu',
        warmup=1,
        images=2,
        image_size=(64, 112),
        train_iters=2,
        train_warmup=1)
    inference, training = result['inference'], result['training']
    cfg = Config.fromfile(TINY)
    test_cfg = cfg.model.test_cfg
    assert inference['windows_per_image'] == len(
        sliding_windows(64, 112, test_cfg.crop_size, test_cfg.stride)) == 2
    for value in (inference['images_per_s'], inference['seconds_per_image'],
                  inference['peak_memory_mib'], training['iters_per_s'],
                  training['seconds_per_iter'], training['peak_memory_mib']):
        assert math.isfinite(value) and value > 0
    assert training['batch_size'] == cfg.train_dataloader.batch_size
    assert training['crop_size'] == (64, 64)
    assert result['weights'] == 'random' and result['device'] == 'cpu'
    assert result['machine']['cpu'] and result['machine']['torch']


def test_benchmark_tool_writes_json(tmp_path):
    out_file = str(tmp_path / 'bench.json')
    out = subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools',
                 'benchmark.py'), TINY, '--device', 'cpu', '--amp', '--warmup',
        '1', '--images', '1', '--image-size', '64', '--train-iters', '1',
        '--train-warmup', '0', '--batch-size', '1', '--out', out_file
    ],
                         capture_output=True,
                         text=True,
                         check=True,
                         cwd=REPO).stdout
    assert 'inference img/s' in out and 'training it/s' in out
    assert 'paramwise_options' not in out
    with open(out_file) as f:
        result = json.load(f)
    assert result['inference']['windows_per_image'] == 1
    assert result['inference']['dtype'] == 'bfloat16'
    assert result['training']['batch_size'] == 1
    assert result['training']['iters_per_s'] > 0


def test_precisions_in_turn_make_one_table(monkeypatch):
    """--alternate: float32 and bfloat16 in turn, every round's figure of
    each kept, one table with the ranges and the speed-up."""
    from cascade_clip.analysis import benchmark as module
    calls = []
    seconds = {False: [0.4, 0.5], True: [0.2, 0.3]}

    def fake(config, amp=False, **options):
        calls.append(amp)
        value = seconds[amp][calls.count(amp) - 1]
        return dict(
            machine=dict(
                cpu='cpu', cpu_cores=2, threads=2, gpu=None, torch='t'),
            inference=dict(seconds_per_image=value, peak_memory_mib=10.0),
            training=dict(seconds_per_iter=2 * value))

    monkeypatch.setattr(module, 'benchmark', fake)
    result = module.alternate_precisions(TINY, 2, device='cpu')
    assert calls == [False, True, False, True]
    assert result['float32']['seconds_per_image'] == [0.4, 0.5]
    table = module.format_alternation(result)
    assert '| inference, one image | 0.40-0.50 s | 0.20-0.30 s | 1.80x |' in (
        table)
    assert '| training step | 0.80-1.00 s | 0.40-0.60 s | 1.80x |' in table
    assert 'memory' not in table  # one process: a single run measures it


def test_benchmark_tf32_is_for_gpus_and_restores_the_precision():
    """--tf32 is refused on the CPU; a run leaves the global float32 matmul
    precision as it found it and records the mode it timed."""
    with pytest.raises(ValueError, match='tf32 is a mode of CUDA GPUs'):
        benchmark(TINY, device='cpu', images=0, train_iters=0, tf32=True)
    before = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision('medium')
    try:
        result = benchmark(
            TINY,
            device='cpu',
            warmup=0,
            images=1,
            image_size=(64, 64),
            train_iters=0)
        assert torch.get_float32_matmul_precision() == 'medium'
    finally:
        torch.set_float32_matmul_precision(before)
    assert result['tf32'] is False
    assert 'TF32' not in format_benchmark(result)
    assert 'float32, TF32 matrix products' in format_benchmark(
        dict(result, tf32=True))
