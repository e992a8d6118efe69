"""The tiny model of the tests and the demo, and tiny random CLIPs written
in the formats of the real weight files.

The tiny model is defined once, in
``configs/_base_/models/cascade_clip_tiny.py`` (applied by the configs in
``configs/tiny/``); :func:`tiny_model_config` reads it from there and
:func:`tiny_clip_sizes` gives the CLIP that fits it. The CLIPs let tests and the demo exercise the real loading code without
downloading OpenAI's ``ViT-B-16.pt``: the module below has the same
attribute tree as OpenAI's CLIP, so its state dict has the same key names,
and :func:`write_tiny_clip` saves it as a TorchScript archive (like
OpenAI's file), a plain state dict or a ``.safetensors`` file.
"""
import copy
import functools
import os
import os.path as osp
import warnings
from typing import Dict

import torch
from torch import Tensor, nn


class _Weights(nn.Module):
    """A container of weights; its forward exists only for scripting."""

    def forward(self, x: Tensor) -> Tensor:
        return x


class _Block(_Weights):

    def __init__(self, width: int):
        super().__init__()
        self.attn = nn.MultiheadAttention(width, 1)
        self.ln_1 = nn.LayerNorm(width)
        self.mlp = nn.Sequential()
        self.mlp.add_module('c_fc', nn.Linear(width, width * 4))
        self.mlp.add_module('c_proj', nn.Linear(width * 4, width))
        self.ln_2 = nn.LayerNorm(width)


class _Transformer(_Weights):

    def __init__(self, width: int, layers: int):
        super().__init__()
        self.resblocks = nn.Sequential(*[_Block(width) for _ in range(layers)])


class _Visual(_Weights):

    def __init__(self, resolution, patch, width, layers, embed_dims):
        super().__init__()
        grid = resolution // patch
        self.conv1 = nn.Conv2d(3, width, patch, patch, bias=False)
        self.class_embedding = nn.Parameter(torch.randn(width))
        self.positional_embedding = nn.Parameter(
            torch.randn(grid * grid + 1, width))
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = _Transformer(width, layers)
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(torch.randn(width, embed_dims))


TINY_CONFIG = 'tiny/cascade-clip_tiny_1xb2-40_voc20-64x64_inductive.py'


@functools.lru_cache(maxsize=1)
def _tiny_model() -> dict:
    from mmengine.config import Config

    from ..config_files import config_path
    return Config.fromfile(config_path(TINY_CONFIG)).model.to_dict()


def tiny_model_config(**overrides) -> dict:
    """The tiny ``ZeroShotEncoderDecoder`` config of ``configs/tiny/`` (the
    VOC inductive one: 20 classes, 15 seen and 5 unseen) without CLIP's
    weight file; ``overrides`` update the top level."""
    cfg = copy.deepcopy(_tiny_model())
    cfg['pretrained'] = None
    cfg.update(overrides)
    return cfg


def tiny_clip_sizes() -> dict:
    """The :class:`TinyOpenAICLIP` sizes that fit :func:`tiny_model_config`."""
    backbone, text = _tiny_model()['backbone'], _tiny_model()['text_encoder']
    return dict(
        vision_width=backbone['width'],
        vision_layers=backbone['layers'],
        image_resolution=backbone['input_resolution'],
        patch_size=backbone['patch_size'],
        embed_dims=backbone['embed_dims'],
        text_width=text['width'],
        text_layers=text['layers'],
        context_length=text['context_length'])


class TinyOpenAICLIP(nn.Module):
    """Random CLIP with OpenAI's parameter names; only its weights matter.

    Args:
        vision_width: Image tower width.
        vision_layers: Image tower blocks.
        image_resolution: Input size its positional grid is stored for.
        patch_size: Patch size.
        embed_dims: Joint embedding width (OpenAI's ``embed_dim``).
        text_width: Text tower width.
        text_layers: Text tower blocks.
        context_length: Text tokens.
        vocab_size: BPE vocabulary (49408 for the real tokenizer).
    """

    def __init__(self,
                 vision_width: int,
                 vision_layers: int,
                 image_resolution: int,
                 patch_size: int,
                 embed_dims: int,
                 text_width: int,
                 text_layers: int,
                 context_length: int = 77,
                 vocab_size: int = 49408):
        super().__init__()
        self.visual = _Visual(image_resolution, patch_size, vision_width,
                              vision_layers, embed_dims)
        self.transformer = _Transformer(text_width, text_layers)
        self.token_embedding = nn.Embedding(vocab_size, text_width)
        self.positional_embedding = nn.Parameter(
            torch.randn(context_length, text_width) * 0.01)
        self.ln_final = nn.LayerNorm(text_width)
        self.text_projection = nn.Parameter(
            torch.randn(text_width, embed_dims) * text_width**-0.5)
        self.logit_scale = nn.Parameter(torch.tensor(4.6052))
        # OpenAI's archives carry these as tensors too.
        self.register_buffer('input_resolution',
                             torch.tensor(image_resolution))
        self.register_buffer('context_length', torch.tensor(context_length))
        self.register_buffer('vocab_size', torch.tensor(vocab_size))
        self._init_like_openai(vision_width, vision_layers, text_width,
                               text_layers)

    @torch.no_grad()
    def _init_like_openai(self, vision_width, vision_layers, text_width,
                          text_layers):
        """OpenAI's initialisation of CLIP (small residual branches, so
        that features keep what the patch embedding saw), except that
        LayerNorms and biases are random too, so that a wrong key mapping
        shows in the tests."""
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        towers = ((self.visual.transformer, vision_width, vision_layers),
                  (self.transformer, text_width, text_layers))
        for transformer, width, layers in towers:
            proj_std = width**-0.5 * (2 * layers)**-0.5
            for block in transformer.resblocks:
                nn.init.normal_(block.attn.in_proj_weight, std=width**-0.5)
                nn.init.normal_(block.attn.out_proj.weight, std=proj_std)
                nn.init.normal_(block.mlp.c_fc.weight, std=(2 * width)**-0.5)
                nn.init.normal_(block.mlp.c_proj.weight, std=proj_std)
        scale = vision_width**-0.5
        for param in (self.visual.class_embedding,
                      self.visual.positional_embedding, self.visual.proj):
            param.normal_(0.0, scale)
        for name, param in self.named_parameters():
            if name.endswith(('ln_1.weight', 'ln_2.weight', 'ln_pre.weight',
                              'ln_post.weight', 'ln_final.weight')):
                param.normal_(1.0, 0.1)
            elif name.endswith('bias') or '.ln_' in name or name.startswith(
                    'ln_'):
                param.normal_(0.0, 0.05)

    def forward(self, x: Tensor) -> Tensor:
        return x * self.logit_scale.exp()


def write_tiny_clip(path: str,
                    file_format: str = 'torchscript',
                    half: bool = True,
                    seed: int = 0,
                    **kwargs) -> Dict[str, Tensor]:
    """Writes a tiny random CLIP and returns its state dict.

    Args:
        path: Output file.
        file_format: ``'torchscript'`` (an archive like OpenAI's
            ``ViT-B-16.pt``), ``'state_dict'`` (``torch.save`` of the state
            dict) or ``'safetensors'``.
        half: Store float16 weights, as OpenAI does.
        seed: Seed of the random weights.
        **kwargs: Sizes to change, see :class:`TinyOpenAICLIP`; the others
            are :func:`tiny_clip_sizes`.
    """
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = TinyOpenAICLIP(**dict(tiny_clip_sizes(), **kwargs)).eval()
    if half:
        model = model.half()
    if osp.dirname(path):
        os.makedirs(osp.dirname(path), exist_ok=True)
    if file_format == 'torchscript':
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            torch.jit.save(torch.jit.script(model), path)
    elif file_format == 'state_dict':
        torch.save(model.state_dict(), path)
    elif file_format == 'safetensors':
        from safetensors.torch import save_file
        save_file({k: v.contiguous()
                   for k, v in model.state_dict().items()}, path)
    else:
        raise ValueError(f'unknown file_format {file_format!r}')
    return {k: v.detach().clone() for k, v in model.state_dict().items()}
