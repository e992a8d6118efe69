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
            dict(copy.deepcopy(CFG),
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
    for (name, a), b in zip(nets[0].named_parameters(),
                            nets[1].parameters()):
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
