"""Which CLIPs this project's towers load, and whether a config fits one.

The towers are CLIP ViTs laid out as OpenAI's (a class token, ``ln_pre``,
pre-LN blocks with a 4x MLP, ``ln_post`` and projection matrices); OpenAI's
archives and open_clip's checkpoints of such models share their key names.
Everything else a tower's size needs is read from the tensors' shapes, except
the attention heads (not stored: OpenAI's and open_clip's ViTs of the named
sizes below have 64-wide heads) and the activation (QuickGELU or GELU,
``quick_gelu`` in the config; clip_pretrain/README.md says which).
"""
import re
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

from torch import Tensor

from .clip_weights import CLIPWeightsError, clip_tower_weights

SUPPORTED = (
    'supported: CLIP ViTs laid out as OpenAI\'s (class token, ln_pre, 4x '
    'MLP, projection matrices), e.g. OpenAI\'s ViT-B/32, ViT-B/16, ViT-L/14 '
    'and ViT-L/14@336 archives and open_clip checkpoints of these models '
    '(clip_pretrain/README.md)')

_BLOCK = (r'transformer\.resblocks\.\d+\.(ln_1\.(weight|bias)|ln_2\.(weight|'
          r'bias)|attn\.(in_proj_weight|in_proj_bias|out_proj\.weight|'
          r'out_proj\.bias)|mlp\.(c_fc|c_proj)\.(weight|bias))')
_LAYOUT = dict(
    visual=re.compile(r'^(conv1\.weight|class_embedding|positional_embedding'
                      r'|ln_pre\.(weight|bias)|ln_post\.(weight|bias)|proj|'
                      rf'{_BLOCK})$'),
    text=re.compile(r'^(token_embedding\.weight|positional_embedding|'
                    rf'ln_final\.(weight|bias)|text_projection|{_BLOCK})$'))
_REQUIRED = dict(
    visual=('conv1.weight', 'positional_embedding', 'ln_post.weight', 'proj'),
    text=('token_embedding.weight', 'positional_embedding', 'ln_final.weight',
          'text_projection'))
# Tensors of other open_clip towers, and what they tell.
_OTHER_TOWERS = dict(
    visual=(('trunk.', 'a timm image tower (visual.trunk.*: ConvNeXt, SigLIP, '
             'EVA, ...)'), ('layer1.', 'a ResNet image tower'),
            ('attn_pool', 'attentional pooling (visual.attn_pool*)'),
            ('proj.weight', 'a linear image projection (visual.proj.weight)')),
    text=(('text_projection.weight',
           'a linear text projection (text_projection.weight)'), ))


def _model_reason(weights: Dict[str, Tensor]) -> Optional[str]:
    """What, seen from the whole state dict, makes its text tower not one of
    the supported layout, or ``None``."""
    if any(k.startswith('text.') for k in weights):
        return ('a custom text tower (text.*: a Hugging Face or SigLIP text '
                'encoder)')
    if 'logit_bias' in weights:
        return 'a SigLIP model (logit_bias)'
    return None


def _reason(tower: str, picked: Dict[str, Tensor]) -> Optional[str]:
    """Why ``picked`` (one tower's tensors) is not a tower of the supported
    layout, or ``None``."""
    for prefix, what in _OTHER_TOWERS[tower]:
        if any(k.startswith(prefix) for k in picked):
            return what
    if tower == 'visual' and 'class_embedding' not in picked:
        return ('an image tower without a class token (no '
                'visual.class_embedding)')
    if tower == 'visual' and 'ln_pre.weight' not in picked:
        return 'an image tower without ln_pre (no_ln_pre)'
    other = sorted(k for k in picked if not _LAYOUT[tower].match(k))
    if other:
        return (f'{tower} tensors outside that layout ({", ".join(other[:3])}'
                f'{", ..." if len(other) > 3 else ""})')
    missing = [k for k in _REQUIRED[tower] if k not in picked]
    if missing:
        return f'a {tower} tower without {", ".join(missing)}'
    width = picked['ln_post.weight' if tower ==
                   'visual' else 'ln_final.weight'].shape[0]
    fc = picked.get('transformer.resblocks.0.mlp.c_fc.weight')
    if fc is not None and fc.shape[0] != 4 * width:
        return f'an MLP {fc.shape[0]} wide for a {width}-wide {tower} tower'
    return None


def supported_tower(weights: Dict[str, Tensor],
                    tower: str,
                    source: str = 'the CLIP weights') -> Dict[str, Tensor]:
    """One tower's tensors (:func:`~.clip_weights.clip_tower_weights`),
    checked to be of the layout this project's towers have.

    Raises:
        CLIPWeightsError: One line saying what the file holds instead and
            what is supported.
    """
    reason = _model_reason(weights) if tower == 'text' else None
    picked = {} if reason else clip_tower_weights(weights, tower, source)
    reason = reason or _reason(tower, picked)
    if reason:
        raise CLIPWeightsError(
            f'{source} holds {reason}, which this project cannot load; '
            f'{SUPPORTED}')
    return picked


def _blocks(tower: Dict[str, Tensor]) -> int:
    return len({
        k.split('.')[2]
        for k in tower if k.startswith('transformer.resblocks.')
    })


class _TowerShape:
    """What both towers' shapes share: the sizes that must agree
    (``_COMPARED``, with how each reads) and the named CLIPs'
    (``_NAMED``)."""
    _COMPARED: Tuple[Tuple[str, str], ...] = ()
    _NAMED: Tuple[Tuple[str, dict], ...] = ()

    def key(self) -> tuple:
        return tuple(getattr(self, field) for field, _ in self._COMPARED)

    def describe(self) -> str:
        return ', '.join(
            text.format(getattr(self, field))
            for field, text in self._COMPARED)

    def name(self) -> Optional[str]:
        """The CLIP of these sizes among OpenAI's ViTs (open_clip's models
        of the same names have them), or ``None``."""
        for name, sizes in self._NAMED:
            if all(getattr(self, k) == v for k, v in sizes.items()):
                return name
        return None


_B = dict(width=768, layers=12, embed_dims=512)
_L = dict(width=1024, layers=24, patch_size=14, embed_dims=768)


@dataclass(frozen=True)
class ImageTowerShape(_TowerShape):
    """Sizes of a ViT image tower; ``grid`` is the side of the positional
    grid (not compared: it is resized on loading)."""
    width: int
    layers: int
    patch_size: int
    embed_dims: int
    grid: int
    _COMPARED = (('width', 'width {}'), ('layers', '{} blocks'),
                 ('patch_size', 'patch {}'), ('embed_dims', 'embed {}'))
    _NAMED = (('ViT-B/32', dict(_B, patch_size=32)), ('ViT-B/16',
                                                      dict(_B, patch_size=16)),
              ('ViT-L/14@336', dict(_L, grid=24)), ('ViT-L/14', _L))

    @classmethod
    def of_weights(cls, visual: Dict[str, Tensor]) -> 'ImageTowerShape':
        """Read from the tensors of :func:`supported_tower`."""
        conv = visual['conv1.weight']
        positions = visual['positional_embedding'].shape[0] - 1
        return cls(conv.shape[0], _blocks(visual), conv.shape[-1],
                   visual['proj'].shape[1], int(round(positions**0.5)))


@dataclass(frozen=True)
class TextTowerShape(_TowerShape):
    """Sizes of CLIP's text tower."""
    width: int
    layers: int
    context_length: int
    vocab_size: int
    embed_dims: int
    _COMPARED = (('width', 'width {}'), ('layers', '{} blocks'),
                 ('context_length', 'context {}'),
                 ('vocab_size', 'vocabulary {}'), ('embed_dims', 'embed {}'))
    _NAMED = (('ViT-B', dict(width=512, layers=12, embed_dims=512)),
              ('ViT-L/14', dict(width=768, layers=12, embed_dims=768)))

    @classmethod
    def of_weights(cls, text: Dict[str, Tensor]) -> 'TextTowerShape':
        """Read from the tensors of :func:`supported_tower`."""
        tokens = text['token_embedding.weight']
        return cls(tokens.shape[1], _blocks(text),
                   text['positional_embedding'].shape[0], tokens.shape[0],
                   text['text_projection'].shape[1])


# The heads of OpenAI's and open_clip's ViTs of the named sizes.
HEAD_WIDTH = 64


def check_fits(file_shape, model_shape, heads: int, source: str,
               part: str) -> None:
    """Stops with one line naming both shapes when a config's tower does
    not fit the weights.

    Args:
        file_shape: :class:`ImageTowerShape` or :class:`TextTowerShape` of
            the weights.
        model_shape: The same of the tower the config builds.
        heads: The config's attention heads; checked where the weights are
            a named CLIP (whose heads are ``width // 64``).
        source: Names the file.
        part: ``'backbone'`` or ``'text_encoder'``.
    """
    name = file_shape.name()
    kind = 'image' if part == 'backbone' else 'text'
    what = f'a {name} ' if name else ('an ' if kind == 'image' else 'a ')
    if file_shape.key() != model_shape.key():
        config_name = model_shape.name()
        raise CLIPWeightsError(
            f'{source} holds {what}{kind} tower ({file_shape.describe()}), '
            f'but the config\'s {part} is {model_shape.describe()}'
            f'{f" (a {config_name})" if config_name else ""}: point '
            'model.pretrained at a CLIP of the config\'s shape, or use a '
            'config made for this CLIP (clip_pretrain/README.md)')
    if name and heads != file_shape.width // HEAD_WIDTH:
        raise CLIPWeightsError(
            f'{source} holds {what}{kind} tower with '
            f'{file_shape.width // HEAD_WIDTH} heads of {HEAD_WIDTH}, but the '
            f'config\'s {part} has {heads} heads: set {part}.heads='
            f'{file_shape.width // HEAD_WIDTH}')


def text_encoder_config(weights: Dict[str, Tensor],
                        heads: Optional[int] = None,
                        quick_gelu: bool = True) -> dict:
    """A ``CLIPTextTransformer`` config with the sizes of CLIP weights.

    Args:
        weights: A whole-CLIP state dict (OpenAI key names).
        heads: Attention heads; the weights do not store them, and OpenAI's
            and open_clip's models use ``width // 64``.
        quick_gelu: The activation the CLIP was trained with (not stored
            either, see :class:`~cascade_clip.models.layers.
            ResidualAttentionBlock`).
    """
    shape = TextTowerShape.of_weights(supported_tower(weights, 'text'))
    return dict(
        type='CLIPTextTransformer',
        context_length=shape.context_length,
        vocab_size=shape.vocab_size,
        width=shape.width,
        heads=heads or max(1, shape.width // HEAD_WIDTH),
        layers=shape.layers,
        embed_dims=shape.embed_dims,
        quick_gelu=quick_gelu)
