from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from ...checkpoint.clip_architecture import (ImageTowerShape, check_fits,
                                             supported_tower)
from ...checkpoint.clip_weights import copy_weights, read_clip_weights
from ..layers import (LayerNorm, Transformer, autocast_param,
                      init_clip_transformer, resize_grid_embedding)

_CLIP_NAMES = ('conv1.weight', 'class_embedding', 'positional_embedding',
               'proj')


class CLIPVisionTower(BaseModule):
    """OpenAI CLIP's ViT image tower, the one image tower of this project:
    :class:`~.CLIPVisionTransformer` (Cascade-CLIP's encoder) adds its
    prompts and intermediate maps to it, and the tiny CLIPs of the shapes
    world and of the tests are this tower at small widths. Its parameters
    have OpenAI's names (``conv1``, ``class_embedding``, ``transformer.
    resblocks.*``, ``ln_post``, ``proj``), so that the ``visual.*`` tensors
    of OpenAI's and open_clip's CLIP ViTs load unchanged.

    ``forward(img (B, 3, H, W)) -> (global (B, embed_dims), patches (B,
    h*w, embed_dims))``, as CLIP computes them (``ln_post`` then ``proj``;
    not normalised); :meth:`forward_intermediates` also returns the output
    of chosen blocks. The positional embeddings are stored for
    ``input_resolution`` and resized to the input's patch grid at every
    pass, so any image size works.

    Args:
        input_resolution: Image size the positional embeddings are stored
            for.
        patch_size: Patch (and stride) size of the patch embedding.
        width: Transformer width ``D``.
        layers: Number of blocks.
        heads: Attention heads.
        embed_dims: Width ``C`` of CLIP's joint embedding space (OpenAI's
            ``output_dim``).
        drop_path_rate: Stochastic depth of the last block (rising linearly
            from 0 at the first); 0 by default.
        fused_attn: Use ``F.scaled_dot_product_attention``.
        quick_gelu: QuickGELU (OpenAI's CLIPs) or GELU (``False``: most of
            open_clip's), see clip_pretrain/README.md.
        pretrained: CLIP weight file to load in :meth:`init_weights`.
    """

    def __init__(self,
                 input_resolution: int = 224,
                 patch_size: int = 16,
                 width: int = 768,
                 layers: int = 12,
                 heads: int = 12,
                 embed_dims: int = 512,
                 drop_path_rate: float = 0.0,
                 fused_attn: bool = True,
                 quick_gelu: bool = True,
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.input_resolution = input_resolution
        self.patch_size = patch_size
        self.width = width
        self.layers = layers
        self.heads = heads
        self.embed_dims = embed_dims
        self.pretrained = pretrained
        grid = input_resolution // patch_size
        scale = width**-0.5
        self.conv1 = nn.Conv2d(3, width, patch_size, patch_size, bias=False)
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(
            scale * torch.randn(grid * grid + 1, width))
        self.ln_pre = LayerNorm(width)
        self.transformer = Transformer(width, layers, heads, drop_path_rate,
                                       fused_attn, quick_gelu)
        init_clip_transformer(self.transformer, width, layers)
        self.ln_post = LayerNorm(width)
        self.proj = nn.Parameter(scale * torch.randn(width, embed_dims))

    def init_weights(self) -> None:
        super().init_weights()
        if self.pretrained:
            self.load_clip_weights(
                read_clip_weights(self.pretrained), self.pretrained)

    def clip_keys(self) -> List[str]:
        """Names of the tensors that come from CLIP's image tower (what a
        subclass adds left out)."""
        return [
            k for k in self.state_dict()
            if k in _CLIP_NAMES or k.startswith(('ln_pre.', 'transformer.',
                                                 'ln_post.'))
        ]

    def tower_shape(self) -> ImageTowerShape:
        """The sizes a CLIP's image tower must have to load here."""
        return ImageTowerShape(self.width, self.layers, self.patch_size,
                               self.embed_dims,
                               self.input_resolution // self.patch_size)

    def load_clip_weights(self,
                          weights: Dict[str, Tensor],
                          source: str = 'the CLIP weights') -> None:
        """Loads the ``visual.*`` tensors of a whole-CLIP state dict; the
        positional grid is resized once to ``input_resolution``.

        Raises:
            CLIPWeightsError: The weights are not a CLIP ViT of OpenAI's
                layout, or not of this tower's sizes (one line naming
                both).
        """
        visual = supported_tower(weights, 'visual', source)
        check_fits(
            ImageTowerShape.of_weights(visual), self.tower_shape(), self.heads,
            source, 'backbone')
        pos = visual.get('positional_embedding')
        if pos is not None and pos.shape != self.positional_embedding.shape:
            grid = self.input_resolution // self.patch_size
            pos = pos.float()
            visual = dict(
                visual,
                positional_embedding=torch.cat(
                    [pos[:1],
                     resize_grid_embedding(pos[1:], (grid, grid))]))
        copy_weights(self, visual, self.clip_keys(), source)

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

    def _embed(
        self,
        img: Tensor,
        doubled_class_embedding: bool = False
    ) -> Tuple[Tensor, Tuple[int, int]]:
        """Patch, class and positional embeddings, then ``ln_pre``.

        ``doubled_class_embedding``: the class position also adds the class
        embedding, so the class token is ``2 * class_emb + pos[0]``: the
        paper's encoder does so, and its checkpoints were trained with it.
        """
        x, grid = self._patches(img)
        pos = self.positional_embedding
        first = pos[:1] + self.class_embedding if (
            doubled_class_embedding) else pos[:1]
        pos = torch.cat([first, resize_grid_embedding(pos[1:], grid)])
        cls = self.class_embedding.expand(x.shape[0], 1, -1).to(x.dtype)
        x = torch.cat([cls, x], dim=1) + pos.to(x.dtype)
        return self.ln_pre(x), tuple(grid)

    def _blocks(
        self,
        x: Tensor,
        indices: Sequence[int],
        before_block: Optional[Callable[[int, Tensor], Tensor]] = None,
        take: Optional[Callable[[Tensor], Tensor]] = None
    ) -> Tuple[Tensor, List[Tensor]]:
        """Runs the blocks on the sequence ``x (B, L, D)``; returns the last
        block's output and those of the blocks in ``indices``, in block
        order (passed through ``take``, if given, as they come).
        ``before_block(i, x)``, if given, changes the sequence block ``i``
        gets."""
        kept = []
        for i, block in enumerate(self.transformer.resblocks):
            if before_block is not None:
                x = before_block(i, x)
            x = block(x)
            if i in indices:
                kept.append(x if take is None else take(x))
        return x, kept

    def _project(self, x: Tensor) -> Tensor:
        """``ln_post`` then ``proj``: tokens ``(B, L, D)`` into CLIP's joint
        space ``(B, L, C)``."""
        return self.ln_post(x) @ autocast_param(self.proj, x)

    def forward_intermediates(
            self, img: Tensor,
            indices: Sequence[int]) -> Tuple[List[Tensor], Tensor, Tensor]:
        """CLIP's outputs and those of chosen blocks (as open_clip's
        ``forward_intermediates`` gives them).

        Returns:
            The outputs ``(B, 1 + h*w, D)`` (class token first) of the blocks
            in ``indices``, in block order; the global embedding ``(B, C)``;
            the patches ``(B, h*w, C)``.
        """
        x, _ = self._embed(img)
        x, kept = self._blocks(x, indices)
        x = self._project(x)
        return kept, x[:, 0], x[:, 1:]

    def forward(self, img: Tensor) -> Tuple[Tensor, Tensor]:
        x, _ = self._embed(img)
        x = self._project(self.transformer(x))
        return x[:, 0], x[:, 1:]
