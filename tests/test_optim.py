"""The grouped optimiser constructor changes how the step runs, not what it
does."""
import copy

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
