import copy
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch import Tensor, nn

from ..layers import LayerNorm, resize_bilinear


def pixel_accuracy(logits: Tensor,
                   labels: Tensor,
                   ignore_index: int = 255) -> Tensor:
    """Percentage of the labelled pixels whose highest-scoring class of
    ``logits (B, K, H, W)`` is their label ``(B, H, W)``, as mmseg's
    ``accuracy`` logs it (with its float32 epsilon in both counts, so that
    an image without labelled pixels gives 0), from an argmax instead of
    its top-k over all classes."""
    valid = labels != ignore_index
    correct = ((logits.max(dim=1).indices == labels) & valid).sum()
    eps = torch.finfo(torch.float32).eps
    return (correct.float() + eps) * 100.0 / (valid.sum().float() + eps)


class CrossAttention(nn.Module):
    """Multi-head attention from queries ``(B, K, C)`` to a memory
    ``(B, N, C)``, with separate q/k/v linears and an output ``proj``."""

    def __init__(self,
                 dim: int,
                 num_heads: int,
                 attn_drop: float = 0.0,
                 fused_attn: bool = True):
        super().__init__()
        if dim % num_heads:
            raise ValueError(
                f'embed_dims {dim} is not divisible by num_heads {num_heads}')
        self.num_heads = num_heads
        self.scale = (dim // num_heads)**-0.5
        self.attn_drop = attn_drop
        self.fused_attn = fused_attn
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)
        self.proj = nn.Linear(dim, dim)

    def _split_heads(self, x: Tensor) -> Tensor:
        batch, length, dim = x.shape
        return x.reshape(batch, length, self.num_heads, -1).transpose(1, 2)

    def forward(self, query: Tensor, memory: Tensor) -> Tensor:
        q = self._split_heads(self.q(query))
        k = self._split_heads(self.k(memory))
        v = self._split_heads(self.v(memory))
        drop = self.attn_drop if self.training else 0.0
        if self.fused_attn:
            out = F.scaled_dot_product_attention(q, k, v, dropout_p=drop)
        else:
            attn = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)
            out = F.dropout(attn, drop, self.training) @ v
        return self.proj(out.transpose(1, 2).flatten(2))

    def attention_logits(self, query: Tensor, memory: Tensor) -> Tensor:
        """Scaled attention logits before the softmax, averaged over heads,
        ``(B, K, N)``.

        The mean over heads of per-head dot products is the full-width dot
        product divided by the number of heads, so no split is needed.
        """
        q = self.q(query) * (self.scale / self.num_heads)
        return q @ self.k(memory).transpose(1, 2)


class DecoderLayer(nn.Module):
    """Cross-attention then a ReLU FFN, each followed by a residual and a
    LayerNorm (post-LN). There is no self-attention among the queries."""

    def __init__(self,
                 dim: int,
                 num_heads: int,
                 ffn_ratio: int = 4,
                 dropout: float = 0.1,
                 fused_attn: bool = True):
        super().__init__()
        self.cross_attn = CrossAttention(dim, num_heads, dropout, fused_attn)
        self.norm_attn = LayerNorm(dim)
        self.linear1 = nn.Linear(dim, dim * ffn_ratio)
        self.linear2 = nn.Linear(dim * ffn_ratio, dim)
        self.norm_ffn = LayerNorm(dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, memory: Tensor) -> Tensor:
        x = self.norm_attn(x + self.dropout(self.cross_attn(x, memory)))
        ffn = self.linear2(self.dropout(F.relu(self.linear1(x))))
        return self.norm_ffn(x + self.dropout(ffn))


class TextImageDecoder(nn.Module):
    """Refines class queries against one stage's image tokens; its mask is
    the last layer's head-averaged attention logits ``(B, K, N)``.

    The last layer's attention output and FFN would feed nothing, so only
    its logits are computed; its other parameters exist for checkpoint
    compatibility and receive no gradient.

    Args:
        num_layers: Number of :class:`DecoderLayer`.
        identical_layers: Build one layer and copy it ``num_layers`` times,
            so that the layers start equal (as torch's
            ``TransformerDecoder``, which the paper's head uses, clones
            its layer); otherwise each layer is initialised on its own.
        **layer_kwargs: Arguments of :class:`DecoderLayer`.
    """

    def __init__(self,
                 num_layers: int,
                 identical_layers: bool = True,
                 **layer_kwargs):
        super().__init__()
        if identical_layers:
            layer = DecoderLayer(**layer_kwargs)
            layers = (copy.deepcopy(layer) for _ in range(num_layers))
        else:
            layers = (DecoderLayer(**layer_kwargs) for _ in range(num_layers))
        self.layers = nn.ModuleList(layers)

    def forward(self, queries: Tensor, memory: Tensor) -> Tensor:
        for layer in self.layers[:-1]:
            queries = layer(queries, memory)
        return self.layers[-1].cross_attn.attention_logits(queries, memory)


INIT_MODES = ('paper', 'trunc_normal')
NGA_INITS = ('gaussian', 'uniform')


@MODELS.register_module()
class CascadeHead(BaseModule):
    """Cascade-CLIP's decode head: relationship queries, Neighborhood
    Gaussian Aggregation (NGA) of each stage's maps, one text-image decoder
    per stage, and the sum of their masks.

    ``forward((maps, g), text (K, C)) -> pred_masks (B, K, *img_size)``:
    the queries are ``concat(text * g_b, text)``; stage ``s`` fuses the maps
    ``stages[s]`` with its learnable NGA weights (initialised to
    ``exp(-d**2 / 2)`` for the distance ``d`` to the stage's deepest map, or
    all equal, see ``nga_init``) and decodes them with its own query
    projection and decoder.

    Args:
        embed_dims: Width ``C`` of the maps and text embeddings.
        stages: For each stage, the indices of the encoder maps it fuses.
            The paper's cascade is ``((0, 1, 2), (3, 4, 5), (6,))``; a
            single-decoder baseline is ``((6,),)``; direct aggregation of
            all maps into one decoder is ``((0, 1, 2, 3, 4, 5, 6),)`` (with
            ``nga_init='uniform'``).
        num_layers: Layers per decoder.
        num_heads: Attention heads of the decoders.
        ffn_ratio: FFN width as a multiple of ``embed_dims``.
        dropout: Dropout of attention weights, attention output and FFN.
        img_size: Size the summed masks are resized to (the training crop).
        seen_score_shift: Subtracted from the seen classes' scores at
            inference: 0.1 for an inductively trained model, 0 for a
            transductive one.
        loss_decode: Config of the mask loss.
        ignore_index: Label value that is not a class.
        fused_attn: Use ``F.scaled_dot_product_attention``.
        init_mode: ``'paper'`` (default): the state in which the paper's
            training starts, which never calls its head's own
            initialisation: PyTorch's default initialisation of every
            module, and the layers of each decoder equal (copies of one
            layer; the decoders differ from each other). ``'trunc_normal'``:
            each layer initialised on its own, linear weights trunc-normal
            (std 0.02) and biases 0, the initialisation the paper's head
            defines but its training never applies.
        nga_init: Initial NGA weights of a stage of ``n > 1`` maps:
            ``'gaussian'`` (default, the paper's), ``exp(-d**2 / 2)`` for
            the distance ``d`` to the stage's deepest map; ``'uniform'``,
            ``1 / n`` each (the maps averaged: direct aggregation, in
            which no map starts near zero as the earliest of seven do
            with ``exp(-18)``).
    """

    def __init__(self,
                 embed_dims: int = 512,
                 stages: Sequence[Sequence[int]] = ((0, 1, 2), (3, 4, 5),
                                                    (6, )),
                 num_layers: int = 3,
                 num_heads: int = 8,
                 ffn_ratio: int = 4,
                 dropout: float = 0.1,
                 img_size: Union[int, Tuple[int, int]] = 512,
                 seen_score_shift: float = 0.1,
                 loss_decode: dict = dict(type='MaskLoss'),
                 ignore_index: int = 255,
                 fused_attn: bool = True,
                 init_mode: str = 'paper',
                 nga_init: str = 'gaussian',
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if init_mode not in INIT_MODES:
            raise ValueError(f'init_mode must be one of {INIT_MODES}, got '
                             f'{init_mode!r}')
        if nga_init not in NGA_INITS:
            raise ValueError(f'nga_init must be one of {NGA_INITS}, got '
                             f'{nga_init!r}')
        if not stages or any(len(s) == 0 for s in stages):
            raise ValueError(f'every stage needs at least one map: {stages}')
        self.embed_dims = embed_dims
        self.num_layers = num_layers
        self.stages = tuple(tuple(s) for s in stages)
        self.img_size = (img_size, img_size) if isinstance(
            img_size, int) else tuple(img_size)
        self.seen_score_shift = seen_score_shift
        self.ignore_index = ignore_index
        self.align_corners = False
        self.q_projs = nn.ModuleList(
            nn.Linear(2 * embed_dims, embed_dims) for _ in self.stages)
        self.nga_init = nga_init
        self.nga_weights = nn.ParameterList()
        self._nga_slot = []
        for stage in self.stages:
            if len(stage) > 1:
                self._nga_slot.append(len(self.nga_weights))
                self.nga_weights.append(
                    nn.Parameter(self._initial_nga_weights(len(stage))))
            else:
                self._nga_slot.append(None)
        self.init_mode = init_mode
        self.decoders = nn.ModuleList(
            TextImageDecoder(
                num_layers,
                identical_layers=init_mode == 'paper',
                dim=embed_dims,
                num_heads=num_heads,
                ffn_ratio=ffn_ratio,
                dropout=dropout,
                fused_attn=fused_attn) for _ in self.stages)
        self.loss_decode = MODELS.build(loss_decode)
        if init_mode == 'trunc_normal':
            self._init_trunc_normal()

    def _initial_nga_weights(self, num_maps: int) -> Tensor:
        """``(num_maps,)`` weights of a stage's maps, shallowest first."""
        if self.nga_init == 'uniform':
            return torch.full((num_maps, ), 1.0 / num_maps)
        distance = torch.arange(num_maps - 1, -1, -1.0)
        return torch.exp(-0.5 * distance**2)

    def _init_trunc_normal(self) -> None:
        for module in self.decoders.modules():
            if isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=0.02)
                nn.init.zeros_(module.bias)
        for proj in self.q_projs:
            nn.init.trunc_normal_(proj.weight, std=0.02)
            nn.init.zeros_(proj.bias)

    def _memory(self, stage: int, tokens: Sequence[Tensor]) -> Tensor:
        """NGA: the stage's token maps weighted by its learnable weights."""
        indices = self.stages[stage]
        slot = self._nga_slot[stage]
        if slot is None:
            return tokens[indices[0]]
        weights = self.nga_weights[slot]
        memory = weights[0] * tokens[indices[0]]
        for weight, index in zip(weights[1:], indices[1:]):
            memory = memory + weight * tokens[index]
        return memory

    def forward(self, inputs: Tuple[Sequence[Tensor], Tensor],
                text_embeddings: Tensor) -> Tensor:
        maps, global_embedding = inputs
        needed = max(max(s) for s in self.stages) + 1
        if len(maps) < needed:
            raise ValueError(f'the stages {self.stages} need {needed} maps, '
                             f'the encoder gave {len(maps)}')
        batch, _, h, w = maps[0].shape
        tokens = [m.flatten(2).transpose(1, 2) for m in maps]
        text = text_embeddings.to(global_embedding.dtype)[None]
        queries = torch.cat(
            [text * global_embedding[:, None],
             text.expand(batch, -1, -1)],
            dim=-1)
        masks = sum(
            decoder(q_proj(queries), self._memory(stage, tokens)) for stage, (
                q_proj,
                decoder) in enumerate(zip(self.q_projs, self.decoders)))
        return resize_bilinear(masks.reshape(batch, -1, h, w), self.img_size)

    def paper_unused_parameters(self) -> Dict[str, int]:
        """What the paper's version of this head holds beyond it, to
        reconcile parameter counts with the paper's: each of its decoder
        layers also has a self-attention (``in_proj`` ``3C x C + 3C``,
        ``out_proj`` ``C x C + C``) and a ``norm1`` (``2C``) that its forward
        pass never uses (the converter drops them). They count as trainable
        where the layer's cross-attention trains.

        Returns:
            ``layers``, ``per_layer``, ``total`` and ``trainable``.
        """
        c = self.embed_dims
        per_layer = (3 * c * c + 3 * c) + (c * c + c) + 2 * c
        layers = [
            layer for decoder in self.decoders for layer in decoder.layers
        ]
        trains = [
            any(p.requires_grad for p in layer.cross_attn.parameters())
            for layer in layers
        ]
        return dict(
            layers=len(layers),
            per_layer=per_layer if layers else 0,
            total=per_layer * len(layers),
            trainable=per_layer * sum(trains))

    def loss_by_feat(self, pred_masks: Tensor,
                     labels: Tensor) -> Dict[str, Tensor]:
        """Mask losses and pixel accuracy of ``pred_masks (B, K, ...)``
        against ``labels (B, H, W)`` in head channel indices (ignore index
        for the rest)."""
        logits = resize_bilinear(pred_masks, labels.shape[-2:])
        losses = self.loss_decode(logits, labels)
        losses['acc_seg'] = pixel_accuracy(logits.detach(), labels,
                                           self.ignore_index)
        return losses

    def predict_by_feat(self, pred_masks: Tensor,
                        seen_mask: Optional[Tensor]) -> Tensor:
        """Calibrated scores: ``sigmoid(pred_masks)`` minus
        ``seen_score_shift`` on the channels where ``seen_mask (K,)`` holds."""
        scores = pred_masks.sigmoid()
        if seen_mask is None or not self.seen_score_shift:
            return scores
        shift = (seen_mask.to(scores.dtype) * self.seen_score_shift)[None, :,
                                                                     None,
                                                                     None]
        if scores.requires_grad:
            return scores - shift
        # In place where no gradient needs the sigmoid's output: no second
        # score-sized tensor (B x K x H x W, gigabytes for many windows).
        return scores.sub_(shift)
