"""How the optimiser steps: a constructor whose parameter groups are as few
as the options allow, with the fastest step implementation for the device,
and the mixed-precision options of ``--amp``."""
from contextlib import contextmanager
from typing import List, Optional, Union

import torch
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper
from mmseg.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS
from torch import nn


def merge_param_groups(groups: List[dict]) -> List[dict]:
    """Parameter groups with identical options joined into one, in the order
    of their first appearance; the update of every parameter stays the
    same."""
    merged = {}
    for group in groups:
        options = {k: v for k, v in group.items() if k != 'params'}
        key = repr(sorted(options.items()))
        if key not in merged:
            merged[key] = dict(options, params=[])
        merged[key]['params'].extend(group['params'])
    return list(merged.values())


# torch optimisers with a fused CUDA step (one kernel for all tensors) in
# every torch this project supports (>= 2.1)
FUSED_ON_CUDA = ('Adam', 'AdamW')


def step_implementation(optimizer_type, devices) -> dict:
    """The fastest of PyTorch's optimiser implementations that computes the
    same update: ``fused`` for Adam/AdamW when every parameter is on a CUDA
    GPU, else multi-tensor (``foreach``).

    Args:
        optimizer_type: The config's optimiser type (a name or a class).
        devices: The devices of the parameters.
    """
    name = getattr(optimizer_type, '__name__', optimizer_type)
    devices = list(devices)
    if name in FUSED_ON_CUDA and devices and all(d.type == 'cuda'
                                                 for d in devices):
        return dict(fused=True)
    return dict(foreach=True)


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class GroupedOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """mmengine's ``DefaultOptimWrapperConstructor`` (``paramwise_cfg``
    applied as it applies it), with its one group per parameter merged into
    one group per distinct set of options, and the step implementation of
    :func:`step_implementation` unless the config chooses one (``foreach``
    or ``fused``).

    The optimiser then updates each group's tensors together instead of
    looping over a few hundred single-tensor groups: the same update, in
    a fraction of the time (for the paper's AdamW on ~31M trainable
    parameters). On a GPU the fused AdamW does it in one kernel, where the
    multi-tensor one launches a dozen per group and reads each parameter's
    step count on the host.
    """

    def __init__(self,
                 optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None):
        optimizer = optim_wrapper_cfg.get('optimizer', {})
        self._choose_step = ('foreach' not in optimizer
                             and 'fused' not in optimizer)
        super().__init__(optim_wrapper_cfg, paramwise_cfg)

    def __call__(self, model: nn.Module):
        if not self._choose_step:
            return super().__call__(model)
        config = self.optimizer_cfg
        self.optimizer_cfg = dict(
            config,
            **step_implementation(config['type'],
                                  (p.device for p in model.parameters())))
        try:
            return super().__call__(model)
        finally:
            self.optimizer_cfg = config

    def add_params(self,
                   params: List[dict],
                   module: nn.Module,
                   prefix: str = '',
                   is_dcn_module: Union[int, float, None] = None) -> None:
        super().add_params(params, module, prefix, is_dcn_module)
        if not prefix:  # the outermost call: every parameter is listed
            params[:] = merge_param_groups(params)


def amp_dtype(device: torch.device) -> torch.dtype:
    """bfloat16, except on a GPU without it (float16)."""
    if device.type == 'cuda' and not torch.cuda.is_bf16_supported():
        return torch.float16
    return torch.bfloat16


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """mmengine's ``OptimWrapper`` with the forward passes of a training
    step under ``torch.autocast(dtype)`` on the model's device, without loss
    scaling: bfloat16 training on a CPU (mmengine's ``AmpOptimWrapper``
    needs a GPU).

    Args:
        dtype: The autocast type (``'bfloat16'``).
        **kwargs: ``OptimWrapper``'s.
    """

    def __init__(self, dtype: str = 'bfloat16', **kwargs):
        super().__init__(**kwargs)
        self.cast_dtype = getattr(torch, dtype)

    @contextmanager
    def optim_context(self, model: nn.Module):
        device = next(model.parameters()).device.type
        with super().optim_context(model), torch.autocast(
                device, dtype=self.cast_dtype):
            yield


def amp_optim_wrapper_options(device: torch.device) -> dict:
    """What turns an ``optim_wrapper`` config into mixed precision on
    ``device``: mmengine's ``AmpOptimWrapper`` in :func:`amp_dtype` on a
    GPU, :class:`AutocastOptimWrapper` in bfloat16 on a CPU.

    float16 gets dynamic loss scaling. bfloat16 gets none: it has float32's
    exponent range, so its gradients do not underflow where float32's would
    not, and the scaler would only add work to every step (a multiply, an
    inf check of every gradient, and a wait for the GPU to read its result
    before the optimizer may step).
    """
    if device.type != 'cuda':
        return dict(type='AutocastOptimWrapper', dtype='bfloat16')
    dtype = amp_dtype(device)
    return dict(
        type='AmpOptimWrapper',
        dtype=str(dtype).replace('torch.', ''),
        loss_scale=(dict(
            enabled=False) if dtype == torch.bfloat16 else 'dynamic'))
