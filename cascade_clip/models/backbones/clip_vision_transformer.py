from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor, nn

from ..layers import LayerNorm, autocast_param, set_trainable
from .cascade_layout import (STAGE_RULES, cascade_out_indices,
                             cascade_prompt_depth)
from .clip_vision_tower import CLIPVisionTower


@MODELS.register_module()
class CLIPVisionTransformer(CLIPVisionTower):
    """CLIP's ViT image encoder (:class:`~.CLIPVisionTower`) with deep
    visual prompts.

    The sequence is ``[cls, prompts, patches]``; before every block
    ``1..prompt_depth`` the prompt tokens are replaced by that block's own
    learned prompts. The encoder returns one map per block in ``out_indices``
    and the final map, each projected to CLIP's joint space and L2-normalised:

    ``forward(img (B, 3, H, W)) -> (maps, g)``, ``maps`` a tuple of
    ``len(out_indices) + 1`` tensors ``(B, embed_dims, H/p, W/p)``, ``g``
    the global embedding ``(B, embed_dims)``.

    Args:
        input_resolution: Image size the positional embeddings are stored for;
            other sizes are served by resizing them at every forward pass.
        out_indices: Blocks whose output sequence becomes an intermediate
            map, or the name of a stage rule (``'proportional'``,
            ``'last'``) that gives them for the tower's depth
            (docs/method.md §8).
        num_prompt_tokens: Prompt tokens ``P`` per block.
        prompt_depth: Blocks ``1..prompt_depth`` get their own prompts;
            ``None``: all blocks after the first (``layers - 1``).
        prompt_dropout: Dropout on the projected prompts.
        freeze: Freeze the parameters except those named in ``frozen_exclude``.
        frozen_exclude: Substrings of parameter names that stay trainable.
            The paper trains only the prompts; ``ln_layers`` and
            ``proj_layers`` keep their random initial values.
        **tower: The image tower's sizes and options (``patch_size``,
            ``width``, ``layers``, ``heads``, ``embed_dims``, ``quick_gelu``,
            ``drop_path_rate``, ``fused_attn``, ``pretrained``, ``init_cfg``),
            see :class:`~.CLIPVisionTower`. Stochastic depth is 0 by default,
            as in the paper's training: its configs set 0.1, but its blocks
            never apply it.
    """

    def __init__(self,
                 input_resolution: int = 512,
                 out_indices: Union[Sequence[int], str] = (5, 6, 7, 8, 9, 10),
                 num_prompt_tokens: int = 10,
                 prompt_depth: Optional[int] = 11,
                 prompt_dropout: float = 0.1,
                 freeze: bool = True,
                 frozen_exclude: Sequence[str] = ('prompt', ),
                 **tower):
        super().__init__(input_resolution=input_resolution, **tower)
        layers, width = self.layers, self.width
        if isinstance(out_indices, str):
            if out_indices not in STAGE_RULES:
                raise ValueError(
                    f'out_indices must be a list of blocks or one of '
                    f'{STAGE_RULES}, not {out_indices!r}')
            out_indices = cascade_out_indices(layers, out_indices)
        if prompt_depth is None:
            prompt_depth = cascade_prompt_depth(layers)
        if not 0 < num_prompt_tokens:
            raise ValueError('num_prompt_tokens must be positive, got '
                             f'{num_prompt_tokens}')
        if not 0 <= prompt_depth < layers:
            raise ValueError(f'prompt_depth must be in [0, {layers - 1}], '
                             f'got {prompt_depth}')
        bad = [i for i in out_indices if not 0 <= i < layers]
        if bad:
            raise ValueError(f'out_indices {bad} are not blocks of a '
                             f'{layers}-block transformer')
        self.out_indices = tuple(out_indices)
        self.num_prompt_tokens = num_prompt_tokens
        self.prompt_depth = prompt_depth
        scale = width**-0.5

        # Visual prompts, initialised as in VPT (uniform, Xavier-like bound).
        bound = (6.0 / (3 * self.patch_size * self.patch_size + width))**0.5
        self.prompt_embeddings = nn.Parameter(
            torch.empty(1, num_prompt_tokens, width).uniform_(-bound, bound))
        self.deep_prompt_embeddings = nn.Parameter(
            torch.empty(prompt_depth, num_prompt_tokens,
                        width).uniform_(-bound, bound))
        self.prompt_proj = nn.Linear(width, width)
        nn.init.kaiming_normal_(self.prompt_proj.weight, mode='fan_out')
        self.prompt_norm = LayerNorm(width, eps=1e-6)
        self.prompt_dropout = nn.Dropout(prompt_dropout)

        # Projections of the intermediate maps. Not part of CLIP; the paper
        # never trains them, and its checkpoints hold their random values.
        self.ln_layers = nn.ModuleList(
            LayerNorm(width) for _ in self.out_indices)
        self.proj_layers = nn.Parameter(
            scale * torch.randn(len(self.out_indices), width, self.embed_dims))

        set_trainable(self, freeze, frozen_exclude)

    def _prompts(self, embeddings: Tensor, batch: int) -> Tensor:
        prompts = self.prompt_proj(embeddings).expand(batch, -1, -1)
        return self.prompt_dropout(prompts)

    def _deep_prompts(self, i: int, x: Tensor) -> Tensor:
        """The sequence block ``i`` gets: its own prompts in place of the
        previous ones, for blocks ``1..prompt_depth``."""
        if not 1 <= i <= self.prompt_depth:
            return x
        prompts = self._prompts(self.deep_prompt_embeddings[i - 1:i],
                                x.shape[0])
        return torch.cat(
            [x[:, :1], prompts, x[:, 1 + self.num_prompt_tokens:]], dim=1)

    def forward(self, img: Tensor) -> Tuple[Tuple[Tensor, ...], Tensor]:
        batch = img.shape[0]
        x, (h, w) = self._embed(img, doubled_class_embedding=True)
        num_patches = h * w
        x = torch.cat(
            [x[:, :1],
             self._prompts(self.prompt_embeddings, batch), x[:, 1:]],
            dim=1)
        x, stage_tokens = self._blocks(
            x, self.out_indices, self._deep_prompts,
            lambda out: self.prompt_norm(out[:, -num_patches:]))
        x = self.prompt_norm(x)

        # Frozen projections: their low-precision copies under autocast.
        proj_layers = autocast_param(self.proj_layers, x)
        maps = [
            ln(tokens) @ proj for ln, tokens, proj in zip(
                self.ln_layers, stage_tokens, proj_layers)
        ]
        final = self._project(
            torch.cat([x[:, :1], x[:, -num_patches:]], dim=1))
        maps.append(final[:, 1:])
        maps = tuple(
            F.normalize(m, dim=-1).transpose(1, 2).reshape(batch, -1, h, w)
            for m in maps)
        return maps, F.normalize(final[:, 0], dim=-1)
