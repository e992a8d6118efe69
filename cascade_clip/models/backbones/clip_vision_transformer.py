from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch import Tensor, nn

from ...checkpoint.clip_weights import (clip_tower_weights, copy_weights,
                                        read_clip_weights)
from ..layers import (LayerNorm, Transformer, autocast_param,
                      init_clip_transformer, resize_grid_embedding,
                      set_trainable)


@MODELS.register_module()
class CLIPVisionTransformer(BaseModule):
    """CLIP's ViT image encoder with deep visual prompts.

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
        super().__init__(init_cfg=init_cfg)
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
        self.input_resolution = input_resolution
        self.patch_size = patch_size
        self.out_indices = tuple(out_indices)
        self.num_prompt_tokens = num_prompt_tokens
        self.prompt_depth = prompt_depth
        self.pretrained = pretrained
        grid = input_resolution // patch_size
        scale = width**-0.5

        self.conv1 = nn.Conv2d(3, width, patch_size, patch_size, bias=False)
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(
            scale * torch.randn(grid * grid + 1, width))
        self.ln_pre = LayerNorm(width)
        self.transformer = Transformer(width, layers, heads, drop_path_rate,
                                       fused_attn)
        init_clip_transformer(self.transformer, width, layers)
        self.ln_post = LayerNorm(width)
        self.embed_dims = embed_dims
        self.proj = nn.Parameter(scale * torch.randn(width, embed_dims))

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

    def init_weights(self) -> None:
        super().init_weights()
        if self.pretrained:
            self.load_clip_weights(
                read_clip_weights(self.pretrained), self.pretrained)

    def load_clip_weights(self, weights: Dict[str, Tensor],
                          source: str = 'the CLIP weights') -> None:
        """Loads the ``visual.*`` tensors of a whole-CLIP state dict; the
        positional grid is resized once to ``input_resolution``."""
        visual = clip_tower_weights(weights, 'visual', source)
        pos = visual.get('positional_embedding')
        if pos is not None and pos.shape != self.positional_embedding.shape:
            grid = self.input_resolution // self.patch_size
            pos = pos.float()
            visual = dict(visual, positional_embedding=torch.cat(
                [pos[:1], resize_grid_embedding(pos[1:], (grid, grid))]))
        copy_weights(self, visual, self.clip_keys(), source)

    def clip_keys(self) -> List[str]:
        """Names of the tensors that come from CLIP's image tower."""
        return [
            k for k in self.state_dict()
            if 'prompt' not in k and not k.startswith(('ln_layers',
                                                       'proj_layers'))
        ]

    def _prompts(self, embeddings: Tensor, batch: int) -> Tensor:
        prompts = self.prompt_proj(embeddings).expand(batch, -1, -1)
        return self.prompt_dropout(prompts)

    def _patches(self, img: Tensor) -> Tuple[Tensor, Tuple[int, int]]:
        """``conv1`` (kernel = stride = patch size, no bias) as one matrix
        product over the non-overlapping patches: the same sums, without a
        convolution algorithm to pick (a GPU's took 5 ms for 64 windows in
        bfloat16). Pixels past the last whole patch are dropped, as the
        convolution drops them. Returns ``(B, h*w, D)`` tokens and ``(h,
        w)``."""
        p = self.patch_size
        batch, channels = img.shape[:2]
        h, w = img.shape[2] // p, img.shape[3] // p
        patches = img[:, :, :h * p, :w * p].reshape(batch, channels, h, p, w,
                                                     p)
        patches = patches.permute(0, 2, 4, 1, 3, 5).reshape(batch, h * w, -1)
        weight = autocast_param(self.conv1.weight, patches).flatten(1)
        return F.linear(patches, weight), (h, w)

    def _embed(self, img: Tensor) -> Tuple[Tensor, Tuple[int, int]]:
        """Patch, class and positional embeddings, then ``ln_pre``."""
        x, grid = self._patches(img)
        pos = self.positional_embedding
        # Kept for checkpoint compatibility: the class position adds the class
        # embedding once more, so the class token is 2 * class_emb + pos[0].
        pos = torch.cat([pos[:1] + self.class_embedding,
                         resize_grid_embedding(pos[1:], grid)])
        cls = self.class_embedding.expand(x.shape[0], 1, -1).to(x.dtype)
        x = torch.cat([cls, x], dim=1) + pos.to(x.dtype)
        return self.ln_pre(x), tuple(grid)

    def forward(self, img: Tensor) -> Tuple[Tuple[Tensor, ...], Tensor]:
        batch = img.shape[0]
        x, (h, w) = self._embed(img)
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
            ln(tokens) @ proj
            for ln, tokens, proj in zip(self.ln_layers, stage_tokens,
                                        proj_layers)
        ]
        final = self.ln_post(
            torch.cat([x[:, :1], x[:, -num_patches:]], dim=1)) @ (
                autocast_param(self.proj, x))
        maps.append(final[:, 1:])
        maps = tuple(
            F.normalize(m, dim=-1).transpose(1, 2).reshape(batch, -1, h, w)
            for m in maps)
        return maps, F.normalize(final[:, 0], dim=-1)
