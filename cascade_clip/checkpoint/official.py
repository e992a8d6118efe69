"""Checkpoints and configs of the paper's implementation.

Its checkpoints name some head tensors differently and carry tensors its
forward pass never uses (decoder ``self_attn.*`` and ``norm1.*``, the loss's
``empty_weight``); :func:`convert_official_state_dict` renames and drops them,
and :func:`convert_on_load` does so whenever such a checkpoint is loaded
into a segmentor.
"""
import os
import os.path as osp
import re
from typing import Dict, List, Optional, Tuple

import torch
from mmengine.logging import print_log
from torch import Tensor, nn

from .safe_globals import load_weights_only

_UNUSED = re.compile(r'^decode_head\.(cascade_decoders\.\d+\.layers\.\d+\.'
                     r'(self_attn|norm1)\.|loss_decode\.criterion\.'
                     r'empty_weight$)')
_RENAMES = (
    (re.compile(r'^decode_head\.weights_s(\d+)$'),
     lambda m: f'decode_head.nga_weights.{int(m.group(1)) - 1}'),
    (re.compile(r'^decode_head\.cascade_decoders\.(\d+)\.layers\.(\d+)\.'
                r'(multihead_attn|norm2|norm3)\.(.*)$'), lambda m:
     (f'decode_head.decoders.{m.group(1)}.layers.{m.group(2)}.'
      f'{_LAYER_PARTS[m.group(3)]}.{m.group(4)}')),
    (re.compile(r'^decode_head\.cascade_decoders\.(\d+)\.layers\.(\d+)\.'
                r'(linear[12]\..*)$'), lambda m:
     (f'decode_head.decoders.{m.group(1)}.layers.{m.group(2)}.'
      f'{m.group(3)}')),
)
_LAYER_PARTS = {
    'multihead_attn': 'cross_attn',
    'norm2': 'norm_attn',
    'norm3': 'norm_ffn'
}


def is_official_state_dict(state_dict: Dict[str, Tensor]) -> bool:
    """Whether a state dict comes from the paper's implementation."""
    return any(
        k.startswith(('decode_head.cascade_decoders.',
                      'decode_head.weights_s')) for k in state_dict)


def convert_official_state_dict(
        state_dict: Dict[str, Tensor]) -> Tuple[Dict[str, Tensor], List[str]]:
    """Renames the paper's keys to this project's and drops unused tensors.

    Returns:
        The converted state dict and the dropped keys.
    """
    converted, dropped = {}, []
    for key, value in state_dict.items():
        if _UNUSED.match(key):
            dropped.append(key)
            continue
        for pattern, rename in _RENAMES:
            match = pattern.match(key)
            if match:
                key = rename(match)
                break
        converted[key] = value
    return converted, dropped


def convert_official_checkpoint(src: str, dst: str) -> List[str]:
    """Converts a released ``.pth`` of the paper into this project's keys.

    The optimizer state, if any, is not kept (its parameter order does not
    carry over). Returns the dropped keys.
    """
    if not osp.isfile(src):
        raise FileNotFoundError(f'checkpoint not found: {src}')
    checkpoint = load_weights_only(src)
    state_dict = checkpoint.get('state_dict', checkpoint)
    if not is_official_state_dict(state_dict):
        raise ValueError(f'{src} is not a checkpoint of the paper\'s '
                         'implementation (no decode_head.cascade_decoders.* '
                         'keys); nothing to convert')
    state_dict, dropped = convert_official_state_dict(state_dict)
    meta = dict(checkpoint.get('meta') or {}, converted_from=osp.abspath(src))
    if osp.dirname(dst):
        os.makedirs(osp.dirname(dst), exist_ok=True)
    torch.save(dict(meta=meta, state_dict=state_dict), dst)
    return dropped


def _stages_from_official(use_stages: int, num_maps: int) -> tuple:
    if use_stages == 1:
        return ((num_maps, ), )
    if use_stages == num_maps and use_stages % 2 == 0:
        half = use_stages // 2
        return (tuple(range(half)), tuple(range(half,
                                                use_stages)), (num_maps, ))
    raise ValueError(f'use_stages={use_stages} with {num_maps} intermediate '
                     'maps has no known stage layout')


def model_config_from_official(official: dict,
                               text_embeddings: Optional[str] = None,
                               class_names: Optional[list] = None) -> dict:
    """Translates the paper's model config into this project's.

    Args:
        official: The paper's ``model`` dict (``type='CascadeCLIP'``).
        text_embeddings: ``.npy`` of the class embeddings (the role of the
            paper's ``load_text_embedding``).
        class_names: Alternatively, the class names to embed.
    """
    backbone, text, head = (official['backbone'], official['text_encoder'],
                            official['decode_head'])
    loss = head.get('loss_decode', {})
    both = list(official['both_class'])
    if both != list(range(len(both))):
        raise ValueError('both_class must list every class in order, got '
                         f'{both}')
    self_training = bool(official.get('self_training', False))
    test_cfg = dict(official.get('test_cfg') or dict(mode='whole'))
    return dict(
        type='ZeroShotEncoderDecoder',
        class_names=class_names,
        num_classes=len(both),
        text_embeddings=text_embeddings,
        seen_classes=list(official['base_class']),
        unseen_classes=list(official['novel_class']),
        self_training=self_training,
        backbone=dict(
            type='CLIPVisionTransformer',
            input_resolution=backbone['input_resolution'],
            patch_size=backbone['patch_size'],
            width=backbone['width'],
            layers=backbone['layers'],
            heads=backbone['heads'],
            embed_dims=backbone['output_dim'],
            out_indices=list(backbone['out_indices']),
            num_prompt_tokens=backbone['num_tokens'],
            prompt_depth=backbone['total_d_layer'],
            # its blocks build DropPath from drop_path_rate but never apply it
            drop_path_rate=0.0),
        text_encoder=dict(
            type='CLIPTextTransformer',
            context_length=text.get('context_length', 77),
            width=text['transformer_width'],
            heads=text['transformer_heads'],
            layers=text['transformer_layers'],
            embed_dims=text['embed_dim']),
        decode_head=dict(
            type='CascadeHead',
            embed_dims=head['embed_dims'],
            stages=_stages_from_official(
                head.get('use_stages', 1), len(backbone['out_indices'])),
            num_layers=head['num_layers'],
            num_heads=head['num_heads'],
            img_size=head['img_size'],
            seen_score_shift=0.0 if self_training else 0.1,
            loss_decode=dict(
                type='MaskLoss',
                focal_weight=loss.get('mask_weight', 100.0),
                dice_weight=loss.get('dice_weight', 1.0))),
        test_cfg=test_cfg)


def convert_on_load(module: nn.Module, state_dict: dict, prefix: str,
                    *args) -> None:
    """A ``load_state_dict`` pre-hook (registered ``with_module``): a
    checkpoint of the paper's implementation is converted in place (with
    one log line saying what was dropped), and any key ``module`` does not
    have, or lacks, is an error that names the keys."""
    own = {k[len(prefix):]: k for k in state_dict if k.startswith(prefix)}
    local = {key: state_dict[full] for key, full in own.items()}
    if is_official_state_dict(local):
        local, dropped = convert_official_state_dict(local)
        print_log(
            f'converted a checkpoint of the paper\'s implementation; '
            f'dropped {len(dropped)} tensors it never uses '
            '(decoder self_attn.*, norm1.*, loss empty_weight)',
            logger='current')
        for full in own.values():
            del state_dict[full]
        state_dict.update({prefix + k: v for k, v in local.items()})
    expected = set(module.state_dict().keys())
    unknown = sorted(set(local) - expected)
    missing = sorted(expected - set(local))
    if unknown or missing:
        raise KeyError(
            'the checkpoint does not fit this model: '
            f'{len(unknown)} unknown keys {unknown[:10]}, '
            f'{len(missing)} missing keys {missing[:10]}. Check that '
            'the config matches the checkpoint (classes, prompt '
            'tokens, stages).')
