from typing import Dict, List, Optional, Sequence

import torch
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from mmseg.utils import tokenize
from torch import Tensor, nn

from ...checkpoint.clip_architecture import (TextTowerShape, check_fits,
                                             supported_tower,
                                             text_encoder_config)
from ...checkpoint.clip_weights import copy_weights, read_clip_weights
from ..layers import (LayerNorm, Transformer, init_clip_transformer,
                      set_trainable)


@MODELS.register_module()
class CLIPTextTransformer(BaseModule):
    """OpenAI CLIP's text encoder: causal transformer, the end-of-text token's
    feature after ``ln_final``, projected by ``text_projection``. The text
    tower of OpenAI's and open_clip's CLIP ViTs (same key names).

    ``forward(tokens (N, context_length)) -> (N, embed_dims)`` (not
    normalised); :meth:`encode` takes strings and uses mmseg's CLIP BPE
    tokenizer.

    Args:
        context_length: Tokens per text.
        vocab_size: BPE vocabulary size.
        width: Transformer width.
        heads: Attention heads.
        layers: Number of blocks.
        embed_dims: Output width ``C`` (CLIP's joint embedding space;
            OpenAI's ``embed_dim``).
        freeze: Freeze the parameters except those named in
            ``frozen_exclude`` (the paper freezes the whole text encoder).
        frozen_exclude: Substrings of parameter names that stay trainable.
        fused_attn: Use ``F.scaled_dot_product_attention``.
        quick_gelu: QuickGELU (OpenAI's CLIPs) or GELU (``False``: most of
            open_clip's), see clip_pretrain/README.md.
        pretrained: CLIP weight file to load in :meth:`init_weights`.
    """

    def __init__(self,
                 context_length: int = 77,
                 vocab_size: int = 49408,
                 width: int = 512,
                 heads: int = 8,
                 layers: int = 12,
                 embed_dims: int = 512,
                 freeze: bool = True,
                 frozen_exclude: Sequence[str] = (),
                 fused_attn: bool = True,
                 quick_gelu: bool = True,
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.context_length = context_length
        self.vocab_size = vocab_size
        self.width = width
        self.layers = layers
        self.heads = heads
        self.pretrained = pretrained
        self.token_embedding = nn.Embedding(vocab_size, width)
        self.positional_embedding = nn.Parameter(
            torch.empty(context_length, width))
        self.transformer = Transformer(
            width, layers, heads, fused_attn=fused_attn, quick_gelu=quick_gelu)
        self.ln_final = LayerNorm(width)
        self.embed_dims = embed_dims
        self.text_projection = nn.Parameter(torch.empty(width, embed_dims))
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        nn.init.normal_(self.positional_embedding, std=0.01)
        nn.init.normal_(self.text_projection, std=width**-0.5)
        init_clip_transformer(self.transformer, width, layers)
        set_trainable(self, freeze, frozen_exclude)

    @classmethod
    def from_clip_weights(cls,
                          path: str,
                          heads: Optional[int] = None,
                          quick_gelu: bool = True) -> 'CLIPTextTransformer':
        """The text encoder of a CLIP weight file (OpenAI's ``ViT-B-16.pt``,
        a state dict or ``.safetensors``), with the file's sizes.

        Args:
            path: The weight file.
            heads: Attention heads, which the file does not store (default:
                OpenAI's ``width // 64``).
            quick_gelu: The CLIP's activation, which the file does not store
                either.
        """
        weights = read_clip_weights(path)
        config = text_encoder_config(weights, heads, quick_gelu)
        config.pop('type')
        encoder = cls(**config)
        encoder.load_clip_weights(weights, path)
        return encoder

    def init_weights(self) -> None:
        super().init_weights()
        if self.pretrained:
            self.load_clip_weights(
                read_clip_weights(self.pretrained), self.pretrained)

    def load_clip_weights(self,
                          weights: Dict[str, Tensor],
                          source: str = 'the CLIP weights') -> None:
        """Loads the text tower's tensors of a whole-CLIP state dict.

        Raises:
            CLIPWeightsError: The weights are not a CLIP text tower of
                OpenAI's layout, or not of this encoder's sizes (one line
                naming both).
        """
        text = supported_tower(weights, 'text', source)
        check_fits(
            TextTowerShape.of_weights(text), self.tower_shape(), self.heads,
            source, 'text_encoder')
        copy_weights(self, text, self.state_dict().keys(), source)

    def tower_shape(self) -> TextTowerShape:
        """The sizes a CLIP's text tower must have to load here."""
        return TextTowerShape(self.width, self.layers, self.context_length,
                              self.vocab_size, self.embed_dims)

    def forward(self, tokens: Tensor) -> Tensor:
        x = self.token_embedding(tokens) + self.positional_embedding
        x = self.ln_final(self.transformer(x, causal=True))
        # The end-of-text token has the largest id of the vocabulary.
        eot = x[torch.arange(x.shape[0], device=x.device), tokens.argmax(-1)]
        return eot @ self.text_projection

    def encode(self, texts: List[str]) -> Tensor:
        """Embeds ``texts`` ``(N, embed_dims)``, on the module's device."""
        tokens = tokenize(texts, self.context_length)
        return self(tokens.to(self.positional_embedding.device))
