from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor, nn

from ..layers import LayerNorm, autocast_param, set_trainable
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
        patch_size: Patch (and stride) size of the patch embedding.
        width: Transformer width ``D``.
        layers: Number of blocks.
        heads: Attention heads.
        embed_dims: Width ``C`` of CLIP's joint embedding space (OpenAI's
            ``output_dim``).
        out_indices: Blocks whose output sequence becomes an intermediate map.
        num_prompt_tokens: Prompt tokens ``P`` per block.
        prompt_depth: Blocks ``1..prompt_depth`` get their own prompts
            (``layers - 1`` = all blocks after the first).
        prompt_dropout: Dropout on the projected prompts.
        drop_path_rate: Stochastic depth of the last block (rising
            linearly from 0 at the first). 0 by default, as in the paper's
            training: its configs set 0.1, but its blocks never apply it.
        freeze: Freeze the parameters except those named in ``frozen_exclude``.
        frozen_exclude: Substrings of parameter names that stay trainable.
            The paper trains only the prompts; ``ln_layers`` and
            ``proj_layers`` keep their random initial values.
        fused_attn: Use ``F.scaled_dot_product_attention``.
        pretrained: CLIP weight file to load in :meth:`init_weights`.
    """

    def __init__(self,
                 input_resolution: int = 512,
                 patch_size: int = 16,
                 width: int = 768,
                 layers: int = 12,
                 heads: int = 12,
                 embed_dims: int = 512,
                 out_indices: Sequence[int] = (5, 6, 7, 8, 9, 10),
                 num_prompt_tokens: int = 10,
                 prompt_depth: int = 11,
                 prompt_dropout: float = 0.1,
                 drop_path_rate: float = 0.0,
                 freeze: bool = True,
                 frozen_exclude: Sequence[str] = ('prompt', ),
                 fused_attn: bool = True,
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(
            input_resolution=input_resolution,
            patch_size=patch_size,
            width=width,
            layers=layers,
            heads=heads,
            embed_dims=embed_dims,
            drop_path_rate=drop_path_rate,
            fused_attn=fused_attn,
            pretrained=pretrained,
            init_cfg=init_cfg)
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
        bound = (6.0 / (3 * patch_size * patch_size + width))**0.5
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
            scale * torch.randn(len(self.out_indices), width, embed_dims))

        set_trainable(self, freeze, frozen_exclude)

    def _prompts(self, embeddings: Tensor, batch: int) -> Tensor:
        prompts = self.prompt_proj(embeddings).expand(batch, -1, -1)
        return self.prompt_dropout(prompts)

    def forward(self, img: Tensor) -> Tuple[Tuple[Tensor, ...], Tensor]:
        batch = img.shape[0]
        x, (h, w) = self._embed(img, doubled_class_embedding=True)
        num_patches = h * w
        x = torch.cat(
            [x[:, :1],
             self._prompts(self.prompt_embeddings, batch), x[:, 1:]],
            dim=1)
        stage_tokens = []
        for i, block in enumerate(self.transformer.resblocks):
            if 1 <= i <= self.prompt_depth:
                prompts = self._prompts(self.deep_prompt_embeddings[i - 1:i],
                                        batch)
                x = torch.cat(
                    [x[:, :1], prompts, x[:, 1 + self.num_prompt_tokens:]],
                    dim=1)
            x = block(x)
            if i in self.out_indices:
                stage_tokens.append(self.prompt_norm(x[:, -num_patches:]))
        x = self.prompt_norm(x)

        # Frozen projections: their low-precision copies under autocast.
        proj_layers = autocast_param(self.proj_layers, x)
        maps = [
            ln(tokens) @ proj for ln, tokens, proj in zip(
                self.ln_layers, stage_tokens, proj_layers)
        ]
        final = self.ln_post(
            torch.cat([x[:, :1], x[:, -num_patches:]], dim=1)) @ (
                autocast_param(self.proj, x))
        maps.append(final[:, 1:])
        maps = tuple(
            F.normalize(m, dim=-1).transpose(1, 2).reshape(batch, -1, h, w)
            for m in maps)
        return maps, F.normalize(final[:, 0], dim=-1)
