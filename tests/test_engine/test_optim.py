"""The grouped optimiser constructor changes how the step runs, not what it
does."""
import copy

import pytest
import torch
from mmengine.optim import build_optim_wrapper


class Net(torch.nn.Module):

    def __init__(self):
        super().__init__()
        self.backbone = torch.nn.Linear(4, 4)
        self.backbone_norm = torch.nn.LayerNorm(4)
        self.frozen = torch.nn.Linear(4, 4)
        self.head = torch.nn.Linear(4, 2)
        self.frozen.requires_grad_(False)

    def forward(self, x):
        return self.head(self.backbone_norm(self.backbone(self.frozen(x))))


CFG = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-2, weight_decay=0.1),
    paramwise_cfg=dict(custom_keys={
        'backbone': dict(lr_mult=10.0),
        'norm': dict(decay_mult=0.0),
    }))


def test_merged_groups_take_the_same_steps():
    torch.manual_seed(0)
    net = Net()
    nets = [net, copy.deepcopy(net)]
    wrappers = [
        build_optim_wrapper(nets[0], copy.deepcopy(CFG)),
        build_optim_wrapper(
            nets[1],
            dict(
                copy.deepcopy(CFG),
                constructor='GroupedOptimWrapperConstructor')),
    ]
    default_groups = wrappers[0].optimizer.param_groups
    grouped = wrappers[1].optimizer.param_groups
    assert len(grouped) < len(default_groups)
    # mmengine applies the longest matching key only: backbone_norm gets the
    # backbone's options (lr x10, with decay), as the paper's configs rely on
    assert sorted((g['lr'], g['weight_decay'], len(g['params']))
                  for g in grouped
                  if g['params'][0].requires_grad) == [(0.01, 0.1, 2),
                                                       (0.1, 0.1, 4)]
    assert wrappers[1].optimizer.defaults['foreach'] is True
    for _ in range(3):
        x = torch.randn(8, 4)
        for model, wrapper in zip(nets, wrappers):
            wrapper.update_params(model(x).square().mean())
    for (name, a), b in zip(nets[0].named_parameters(), nets[1].parameters()):
        assert torch.allclose(a, b, rtol=0, atol=1e-7), name
    assert torch.equal(nets[1].frozen.weight, net.frozen.weight)


@pytest.mark.parametrize('bf16', [True, False])
def test_mixed_precision_scales_losses_only_in_float16(monkeypatch, bf16):
    from mmengine.optim.optimizer.amp_optimizer_wrapper import GradScaler

    from cascade_clip.engine.optim import amp_optim_wrapper_options
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported', lambda: bf16)
    options = amp_optim_wrapper_options(torch.device('cuda'))
    assert options['type'] == 'AmpOptimWrapper'
    assert options['dtype'] == ('bfloat16' if bf16 else 'float16')
    if not bf16:
        assert options['loss_scale'] == 'dynamic'
        return
    # what AmpOptimWrapper builds from it: a scaler that leaves the loss,
    # the step and the checkpoint alone
    scaler = GradScaler(**options['loss_scale'])
    loss = torch.tensor(3.0)
    assert scaler.scale(loss) is loss
    assert scaler.state_dict() == {}


def test_adam_steps_fused_on_cuda_and_multi_tensor_elsewhere():
    from cascade_clip.engine.optim import step_implementation
    cuda, cpu = torch.device('cuda', 0), torch.device('cpu')
    assert step_implementation('AdamW', [cuda, cuda]) == dict(fused=True)
    assert step_implementation(torch.optim.Adam, [cuda]) == dict(fused=True)
    assert step_implementation('AdamW', [cpu]) == dict(foreach=True)
    assert step_implementation('AdamW', [cuda, cpu]) == dict(foreach=True)
    assert step_implementation('SGD', [cuda]) == dict(foreach=True)


def test_a_configs_own_step_choice_is_kept():
    cfg = dict(
        copy.deepcopy(CFG),
        constructor='GroupedOptimWrapperConstructor',
        optimizer=dict(CFG['optimizer'], foreach=False))
    wrapper = build_optim_wrapper(Net(), cfg)
    assert wrapper.optimizer.defaults['foreach'] is False
    assert not wrapper.optimizer.defaults.get('fused')


def _cpu_has_fused_adamw() -> bool:
    try:
        torch.optim.AdamW([torch.zeros(1, requires_grad=True)], fused=True)
    except RuntimeError:
        return False
    return True


@pytest.mark.parametrize('device', [
    pytest.param(
        'cpu',
        marks=pytest.mark.skipif(
            not _cpu_has_fused_adamw(),
            reason='this torch has no fused AdamW on the CPU (torch < 2.4)')),
    pytest.param(
        'cuda',
        marks=pytest.mark.skipif(
            not torch.cuda.is_available(),
            reason='the fused AdamW step is chosen on CUDA GPUs; this '
            'machine has none (on the CPU the same comparison runs with '
            'fused=True asked for)')),
])
def test_fused_step_takes_the_multi_tensor_steps(device):
    """What a GPU gets (fused AdamW, one kernel) updates the parameters as
    the multi-tensor step does."""
    torch.manual_seed(0)
    nets = [Net().to(device), None]
    nets[1] = copy.deepcopy(nets[0])
    grouped = dict(
        copy.deepcopy(CFG), constructor='GroupedOptimWrapperConstructor')
    fused = grouped if device == 'cuda' else dict(
        grouped, optimizer=dict(CFG['optimizer'], fused=True))
    wrappers = [
        build_optim_wrapper(nets[0], fused),
        build_optim_wrapper(
            nets[1],
            dict(grouped, optimizer=dict(CFG['optimizer'], foreach=True))),
    ]
    assert wrappers[0].optimizer.defaults['fused'] is True
    assert not wrappers[1].optimizer.defaults.get('fused')
    initial = copy.deepcopy(nets[0].state_dict())
    for _ in range(3):
        x = torch.randn(8, 4, device=device)
        for model, wrapper in zip(nets, wrappers):
            wrapper.update_params(model(x).square().mean())
    for (name, a), b in zip(nets[0].named_parameters(), nets[1].parameters()):
        assert torch.equal(a, initial[name]) != a.requires_grad, name
        assert torch.allclose(a, b, rtol=1e-6, atol=1e-6), name
