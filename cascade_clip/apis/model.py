"""Building and loading a model: :func:`init_model` is the one way the
tools, the inferencer and the analysis code get a model from a config."""
import copy
from typing import Optional, Union

import torch
from mmengine.config import Config
from torch import nn

from ..checkpoint import (check_checkpoint_file, checkpoint_globals,
                          config_from_checkpoint)
from ..config_options import load_config
from ..utils.device import check_bfloat16, check_device, default_device


def init_model(config: Union[str, Config, None],
               checkpoint: Optional[str] = None,
               device: Union[str, torch.device, None] = None,
               cfg_options: Optional[dict] = None,
               amp: bool = False) -> nn.Module:
    """The config's model, in eval mode on ``device``.

    Every weight comes from ``checkpoint`` (this project's, or the paper's,
    converted on load) or, without one, stays random: CLIP's weight file is
    never read here, and counts and timings do not need it. The config is
    kept as ``model.cfg``.

    Args:
        config: A config file or ``Config``; ``None`` reads the config that
            this project's training stored in ``checkpoint``.
        checkpoint: Weights to load.
        device: ``'cpu'``, ``'cuda'``, ``'cuda:N'`` (default: CUDA where
            available).
        cfg_options: Config overrides, as ``--cfg-options`` gives them.
        amp: Test in bfloat16 autocast (``model.test_cfg['amp']``), where
            the device's hardware has bfloat16 (see
            :func:`~cascade_clip.utils.device.check_bfloat16`).

    Raises:
        FileNotFoundError: the config or the checkpoint is missing.
        NotACheckpointError: the checkpoint is not one (text, CLIP's
            weights, ...).
        NoGPUError: a CUDA device without a GPU.
        NoBFloat16Error: ``amp`` on a device without bfloat16.
    """
    from mmengine.runner import load_checkpoint
    from mmseg.registry import MODELS
    device = check_device(device or default_device())
    if amp:
        check_bfloat16(device)
    if checkpoint is not None:
        check_checkpoint_file(checkpoint, '--checkpoint')
    if config is None:
        if checkpoint is None:
            raise ValueError('give a config, a checkpoint that stores one, '
                             'or both')
        config = config_from_checkpoint(checkpoint)
    cfg = load_config(config, cfg_options)
    if amp:
        cfg.model.test_cfg = dict(cfg.model.get('test_cfg') or {}, amp=True)
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.pretrained = None
    model = MODELS.build(model_cfg)
    if checkpoint is not None:
        with checkpoint_globals():
            load_checkpoint(
                model, checkpoint, map_location='cpu', logger='silent')
    model.cfg = cfg
    return model.to(device).eval()
