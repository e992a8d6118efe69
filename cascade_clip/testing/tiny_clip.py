"""The tiny model of the tests and the demo, and tiny random CLIPs written
in the formats of the real weight files.

The tiny model is defined once, in
``configs/_base_/models/cascade_clip_tiny.py`` (applied by the configs in
``configs/tiny/``); :func:`tiny_model_config` reads it from there and
:func:`tiny_clip_sizes` gives the CLIP that fits it. The CLIPs let tests
and the demo exercise the real loading code without downloading OpenAI's
``ViT-B-16.pt``: they are this project's own towers
(:class:`~cascade_clip.models.backbones.CLIPVisionTower`,
:class:`~cascade_clip.models.text_encoders.CLIPTextTransformer`) at small
widths, whose tensors have OpenAI's key names, and :func:`write_tiny_clip`
saves them as a TorchScript archive (like OpenAI's file), a plain state
dict or a ``.safetensors`` file.
"""
import copy
import functools
import os
import os.path as osp
import warnings
from typing import Dict

import torch
from torch import Tensor, nn

from ..models.backbones import CLIPVisionTower
from ..models.text_encoders import CLIPTextTransformer

TINY_CONFIG = 'tiny/cascade-clip_tiny_1xb2-40_voc20-64x64_inductive.py'
# The same with a 24-block image tower of patch 14, as ViT-L/14's.
TINY24_CONFIG = 'tiny/cascade-clip_tiny24_1xb2-40_voc20-64x64_inductive.py'


@functools.lru_cache(maxsize=4)
def _tiny_model(config: str = TINY_CONFIG) -> dict:
    from mmengine.config import Config

    from ..config_files import config_path
    return Config.fromfile(config_path(config)).model.to_dict()


def tiny_model_config(config: str = TINY_CONFIG, **overrides) -> dict:
    """The tiny ``ZeroShotEncoderDecoder`` config of ``configs/tiny/`` (the
    VOC inductive one: 20 classes, 15 seen and 5 unseen; ``config``: another
    of that folder, e.g. :data:`TINY24_CONFIG`) without CLIP's weight file;
    ``overrides`` update the top level."""
    cfg = copy.deepcopy(_tiny_model(config))
    cfg['pretrained'] = None
    cfg.update(overrides)
    return cfg


def tiny_clip_sizes(config: str = TINY_CONFIG) -> dict:
    """The :func:`tiny_clip_state_dict` sizes that fit
    :func:`tiny_model_config` (of ``config``, a config file or a path
    relative to ``configs/``)."""
    model = _tiny_model(config)
    backbone, text = model['backbone'], model['text_encoder']
    return dict(
        vision_width=backbone['width'],
        vision_layers=backbone['layers'],
        vision_heads=backbone['heads'],
        image_resolution=backbone['input_resolution'],
        patch_size=backbone['patch_size'],
        embed_dims=backbone['embed_dims'],
        text_width=text['width'],
        text_layers=text['layers'],
        text_heads=text['heads'],
        context_length=text['context_length'])


def tiny_clip_state_dict(vision_width: int,
                         vision_layers: int,
                         vision_heads: int,
                         image_resolution: int,
                         patch_size: int,
                         embed_dims: int,
                         text_width: int,
                         text_layers: int,
                         text_heads: int,
                         context_length: int = 77,
                         vocab_size: int = 49408) -> Dict[str, Tensor]:
    """A random CLIP of this project's towers, as ``{OpenAI key name:
    tensor}`` (image tower under ``visual.``, text tower at the top level,
    ``logit_scale`` and the sizes OpenAI's archives carry as tensors).

    The towers keep OpenAI's initialisation (small residual branches, so
    that features keep what the patch embedding saw), except that
    LayerNorms and biases are random too, so that a wrong key mapping shows
    in the tests.
    """
    visual = CLIPVisionTower(
        input_resolution=image_resolution,
        patch_size=patch_size,
        width=vision_width,
        layers=vision_layers,
        heads=vision_heads,
        embed_dims=embed_dims)
    text = CLIPTextTransformer(
        context_length=context_length,
        vocab_size=vocab_size,
        width=text_width,
        heads=text_heads,
        layers=text_layers,
        embed_dims=embed_dims,
        freeze=False)
    state = {f'visual.{k}': visual.state_dict()[k] for k in visual.clip_keys()}
    state.update(text.state_dict())
    with torch.no_grad():
        for name, tensor in state.items():
            if name.endswith(('ln_1.weight', 'ln_2.weight', 'ln_pre.weight',
                              'ln_post.weight', 'ln_final.weight')):
                tensor.normal_(1.0, 0.1)
            elif name.endswith('bias'):
                tensor.normal_(0.0, 0.05)
    state['logit_scale'] = torch.tensor(4.6052)
    state['input_resolution'] = torch.tensor(image_resolution)
    state['context_length'] = torch.tensor(context_length)
    state['vocab_size'] = torch.tensor(vocab_size)
    return {k: v.detach().clone() for k, v in state.items()}


class _Weights(nn.Module):
    """A container of tensors; its forward exists only for scripting."""

    def forward(self, x: Tensor) -> Tensor:
        return x


def _scriptable(state: Dict[str, Tensor]) -> nn.Module:
    """A module tree whose ``state_dict()`` is ``state``: a dotted name
    becomes nested modules, floating-point tensors parameters and integer
    ones buffers (as in OpenAI's archives)."""
    root = _Weights()
    for name, tensor in state.items():
        *path, leaf = name.split('.')
        module = root
        for part in path:
            if not hasattr(module, part):
                module.add_module(part, _Weights())
            module = getattr(module, part)
        if tensor.is_floating_point():
            module.register_parameter(leaf, nn.Parameter(tensor))
        else:
            module.register_buffer(leaf, tensor)
    return root


FILE_FORMATS = ('torchscript', 'state_dict', 'safetensors',
                'training_checkpoint')


def save_clip_weights(state: Dict[str, Tensor], path: str,
                      file_format: str) -> None:
    """Writes a CLIP state dict in one of the formats CLIP weights come in.

    Args:
        state: ``{key: tensor}`` (OpenAI's or open_clip's key names).
        path: Output file; its folder is made.
        file_format: ``'torchscript'`` (an archive like OpenAI's
            ``ViT-B-16.pt``), ``'state_dict'`` (``torch.save`` of the state
            dict, as open_clip's ``open_clip_pytorch_model.bin``),
            ``'safetensors'`` (as ``open_clip_model.safetensors``) or
            ``'training_checkpoint'`` (open_clip's ``epoch_N.pt``: under
            ``state_dict``, keys prefixed with DDP's ``module.``).
    """
    if file_format not in FILE_FORMATS:
        raise ValueError(f'unknown file_format {file_format!r}')
    if osp.dirname(path):
        os.makedirs(osp.dirname(path), exist_ok=True)
    if file_format == 'torchscript':
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            torch.jit.save(torch.jit.script(_scriptable(state)), path)
    elif file_format == 'state_dict':
        torch.save(state, path)
    elif file_format == 'training_checkpoint':
        torch.save(
            dict(
                epoch=1,
                name='tiny',
                state_dict={
                    f'module.{k}': v
                    for k, v in state.items()
                }), path)
    else:
        from safetensors.torch import save_file
        save_file({k: v.contiguous() for k, v in state.items()}, path)


def write_tiny_clip(path: str,
                    file_format: str = 'torchscript',
                    half: bool = True,
                    seed: int = 0,
                    config: str = TINY_CONFIG,
                    **kwargs) -> Dict[str, Tensor]:
    """Writes a tiny random CLIP and returns its state dict.

    Args:
        path: Output file.
        file_format: One of :data:`FILE_FORMATS`, see
            :func:`save_clip_weights`.
        half: Store float16 weights, as OpenAI does.
        seed: Seed of the random weights.
        config: The tiny config whose sizes the CLIP has (see
            :func:`tiny_clip_sizes`).
        **kwargs: Sizes to change, see :func:`tiny_clip_state_dict`; the
            others are :func:`tiny_clip_sizes`.
    """
    if file_format not in FILE_FORMATS:
        raise ValueError(f'unknown file_format {file_format!r}')
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        state = tiny_clip_state_dict(**dict(tiny_clip_sizes(config), **kwargs))
    if half:
        state = {
            k: v.half() if v.is_floating_point() else v
            for k, v in state.items()
        }
    save_clip_weights(state, path, file_format)
    return {k: v.clone() for k, v in state.items()}
