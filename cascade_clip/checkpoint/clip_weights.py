"""Reading CLIP's weights: OpenAI's TorchScript archives, plain state dicts
and ``.safetensors`` files, all turned into a dict of plain tensors.

``torch.jit.load`` is deprecated; :func:`_read_torchscript_archive` is the only
place that calls it, so that it alone changes when it goes.
"""
import os.path as osp
import warnings
import zipfile
from typing import Dict, Iterable

import torch
from torch import Tensor

_OPENAI = 'https://openaipublic.azureedge.net/clip/models/'
VIT_B_16_URL = (f'{_OPENAI}5806e77cd80f8b59890b7e101eabd078d9fb84e6937f9e8'
                '5e4ecb61988df416f/ViT-B-16.pt')
# OpenAI's ViT archives: file name -> (model, address).
OPENAI_VIT_ARCHIVES = {
    'ViT-B-32.pt':
    ('ViT-B/32', f'{_OPENAI}40d365715913c9da98579312b702a82c18be219cc2a7340'
     '7c4526f58eba950af/ViT-B-32.pt'),
    'ViT-B-16.pt': ('ViT-B/16', VIT_B_16_URL),
    'ViT-L-14.pt':
    ('ViT-L/14', f'{_OPENAI}b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7'
     'c2e0eca1737a03836/ViT-L-14.pt'),
    'ViT-L-14-336px.pt':
    ('ViT-L/14@336', f'{_OPENAI}3035c92b350959924f9f00213499208652fc7ea05064'
     '3e8b385c2dac08641f02/ViT-L-14-336px.pt'),
}
DEFAULT_CLIP_PATH = 'clip_pretrain/ViT-B-16.pt'
# Where the tiny configs' `pretrained` points (tools/make_tiny_clip.py), and
# the config whose sizes each file has (None: the default tiny config).
TINY_CLIP_PATH = 'clip_pretrain/tiny-clip.pt'
TINY_CLIPS = {
    TINY_CLIP_PATH:
    None,
    'clip_pretrain/tiny-clip-24.pt':
    'configs/tiny/cascade-clip_tiny24_1xb2-40_voc20-64x64_inductive.py',
}

# Keys of OpenAI's archives that describe the model rather than hold weights.
_NON_WEIGHT_KEYS = ('input_resolution', 'context_length', 'vocab_size')
TEXT_TOWER_PREFIXES = ('transformer.', 'token_embedding.', 'ln_final.',
                       'positional_embedding', 'text_projection')


class CLIPWeightsError(ValueError):
    """A CLIP weight file that cannot be used; the message says why."""


def _how_to_get(path: str) -> str:
    for tiny, config in TINY_CLIPS.items():
        if osp.normpath(path).endswith(osp.normpath(tiny)):
            option = f' --config {config}' if config else ''
            return (f'The tiny configs (configs/tiny/) use a random tiny '
                    f'CLIP: write it with `python tools/make_tiny_clip.py '
                    f'{path}{option}`.')
    name = osp.basename(path)
    if name in OPENAI_VIT_ARCHIVES and name != osp.basename(DEFAULT_CLIP_PATH):
        model, url = OPENAI_VIT_ARCHIVES[name]
        return (f'Download OpenAI\'s CLIP {model} from {url} and put it at '
                f'{path}, or set `pretrained` in the config to the file you '
                'have (clip_pretrain/README.md, also for open_clip\'s '
                'weights).')
    return (f'Download OpenAI\'s CLIP ViT-B/16 from {VIT_B_16_URL} and put '
            f'it at {path} (the configs expect {DEFAULT_CLIP_PATH}; see '
            'clip_pretrain/README.md), or set `pretrained` in the config to '
            'the file you have.')


def _is_torchscript_archive(path: str) -> bool:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    return any('/code/' in name or name.endswith('constants.pkl')
               for name in names)


def _read_torchscript_archive(path: str) -> Dict[str, Tensor]:
    """Converts a TorchScript archive (OpenAI's ``ViT-B-16.pt``) into plain
    tensors; the one place that uses ``torch.jit``."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        scripted = torch.jit.load(path, map_location='cpu')
    return {
        name: tensor.detach().clone()
        for name, tensor in scripted.state_dict().items()
    }


def read_clip_weights(path: str) -> Dict[str, Tensor]:
    """Reads a CLIP weight file into ``{OpenAI key name: tensor}``.

    Accepts OpenAI's TorchScript archives, ``torch.save``-d state dicts
    (optionally under a ``state_dict`` key, as open_clip's training
    checkpoints, whose ``module.`` prefix is removed) and ``.safetensors``
    files (open_clip's ``open_clip_model.safetensors`` among them).

    Raises:
        FileNotFoundError: ``path`` does not exist (the message says where
            to download the weights).
        CLIPWeightsError: the file is truncated, not a weight file, or holds
            no CLIP weights.
    """
    path = str(path)
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'CLIP weights not found: {path}. {_how_to_get(path)}')
    try:
        if path.endswith('.safetensors'):
            from safetensors.torch import load_file
            weights = load_file(path, device='cpu')
        elif zipfile.is_zipfile(path) and _is_torchscript_archive(path):
            weights = _read_torchscript_archive(path)
        else:
            weights = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as err:  # every reader has its own error types
        raise CLIPWeightsError(
            f'cannot read CLIP weights from {path}: {type(err).__name__}: '
            f'{str(err).splitlines()[0] if str(err) else ""}. The file may be '
            f'truncated or of another kind. {_how_to_get(path)}') from err
    if isinstance(weights, dict) and isinstance(
            weights.get('state_dict'), dict):
        weights = weights['state_dict']
    if not isinstance(weights, dict) or not all(
            isinstance(v, Tensor) for v in weights.values()):
        raise CLIPWeightsError(
            f'{path} does not hold a dict of tensors. {_how_to_get(path)}')
    if weights and all(k.startswith('module.') for k in weights):
        weights = {k[len('module.'):]: v for k, v in weights.items()}
    return {k: v for k, v in weights.items() if k not in _NON_WEIGHT_KEYS}


def clip_tower_weights(weights: Dict[str, Tensor],
                       tower: str,
                       source: str = 'the CLIP weights') -> Dict[str, Tensor]:
    """Picks one tower's tensors out of a whole-CLIP state dict.

    Args:
        weights: What :func:`read_clip_weights` returns.
        tower: ``'visual'`` (keys ``visual.*``, prefix removed) or
            ``'text'`` (``transformer.*``, ``token_embedding.*``,
            ``positional_embedding``, ``ln_final.*``, ``text_projection``).
        source: Names the file in error messages.
    """
    if tower == 'visual':
        picked = {
            k[len('visual.'):]: v
            for k, v in weights.items() if k.startswith('visual.')
        }
    elif tower == 'text':
        picked = {
            k: v
            for k, v in weights.items() if k.startswith(TEXT_TOWER_PREFIXES)
        }
    else:
        raise ValueError(f'tower must be "visual" or "text", not {tower!r}')
    if not picked:
        found = sorted({k.split('.')[0] for k in weights})
        raise CLIPWeightsError(
            f'{source} hold no {tower} tower weights (top-level keys found: '
            f'{found[:10]}); expected a CLIP state dict with OpenAI\'s key '
            'names (as OpenAI\'s archives and open_clip\'s checkpoints '
            'have).')
    return picked


def copy_weights(module: torch.nn.Module, weights: Dict[str, Tensor],
                 expected: Iterable[str], source: str) -> None:
    """Copies ``weights`` into ``module``'s same-named tensors.

    Every name in ``expected`` must be present with the module's shape; the
    error names the missing or mismatching keys.
    """
    own = module.state_dict()
    expected = list(expected)
    missing = [k for k in expected if k not in weights]
    if missing:
        raise CLIPWeightsError(
            f'{source} lack {len(missing)} tensors this model needs: '
            f'{missing[:8]}{" ..." if len(missing) > 8 else ""}')
    wrong = [
        f'{k}: file {tuple(weights[k].shape)}, model {tuple(own[k].shape)}'
        for k in expected if weights[k].shape != own[k].shape
    ]
    if wrong:
        raise CLIPWeightsError(
            f'{source} do not fit this model\'s shape (check width, layers, '
            f'heads and embed_dims in the config): {wrong[:8]}')
    with torch.no_grad():
        for k in expected:
            own[k].copy_(weights[k])
