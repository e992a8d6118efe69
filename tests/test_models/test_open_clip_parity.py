"""Parity with open_clip, the library most CLIP weights come from, as the
reference: open_clip's models built with random weights (nothing is
downloaded), loaded here from its state dicts and files; our image tower's
block outputs and embeddings, our Cascade encoder's maps and our text
embeddings equal open_clip's on the same weights (float32, 1e-5).

Tiny models of open_clip's ViT family with the sizes of the tiny 24-block
config for the bulk, OpenAI's archive format through open_clip's own
loader, and the real ViT-B/16 and ViT-L/14 once each (module fixture).

open_clip is an optional test dependency (the ``tests`` extra installs it);
without it these tests skip, unless ``CASCADE_REQUIRE_OPEN_CLIP=1``
(``.ci/run`` sets it): then they fail.
"""
import importlib.util
import os
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from conftest import REPO
from mmengine.config import Config
from mmseg.registry import MODELS
from mmseg.utils import tokenize

from cascade_clip.checkpoint import CLIPWeightsError, read_clip_weights
from cascade_clip.models.backbones import CLIPVisionTower
from cascade_clip.models.backbones.cascade_layout import (cascade_out_indices,
                                                          cascade_prompt_depth)
from cascade_clip.models.text_encoders import CLIPTextTransformer
from cascade_clip.testing import save_clip_weights, write_tiny_clip
from cascade_clip.testing.tiny_clip import TINY24_CONFIG, tiny_model_config

REQUIRE_VARIABLE = 'CASCADE_REQUIRE_OPEN_CLIP'
if importlib.util.find_spec('open_clip') is None:
    if os.environ.get(REQUIRE_VARIABLE) == '1':
        pytest.fail(
            'open_clip is not installed: pip install -e ".[tests]" '
            f'({REQUIRE_VARIABLE}=1)',
            pytrace=False)
    pytest.skip(
        'open_clip is not installed: pip install -e ".[tests]"',
        allow_module_level=True)
import open_clip  # noqa: E402

TOLERANCE = 1e-5
TEXTS = ['a photo of a cat.', 'There is a dining table in the scene.', 'sky']
# open_clip's model -> our config for its CLIP
CONFIGS = {
    'ViT-B-16': 'voc/cascade-clip_vit-b16_4xb4-20k_voc20-512x512_inductive.py',
    'ViT-L-14': 'voc/cascade-clip_vit-l14_4xb4-20k_voc20-512x512_inductive.py',
}


def config_part(name: str, part: str, **overrides) -> dict:
    """The ``backbone`` or ``text_encoder`` of the config for open_clip's
    model ``name``, without a weight file."""
    model = Config.fromfile(osp.join(REPO, 'configs', CONFIGS[name])).model
    return dict(model[part].to_dict(), pretrained=None, **overrides)


def randomize(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """open_clip's initialisation leaves LayerNorms at 1 and 0 and some
    biases at 0; random ones make a wrong key or a missing term show."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith('bias'):
                param.copy_(0.05 *
                            torch.randn(param.shape, generator=generator))
            elif name.endswith('weight') and param.ndim == 1:
                param.copy_(1 + 0.1 *
                            torch.randn(param.shape, generator=generator))
    return model.eval()


def close(ours: torch.Tensor, reference: torch.Tensor) -> bool:
    assert ours.shape == reference.shape
    return (ours - reference).abs().max().item() <= TOLERANCE


def image_tower_matches(tower: CLIPVisionTower, clip, image) -> None:
    """Every block's output, the global embedding and the projected patches
    of ``tower`` against open_clip's ``forward_intermediates``."""
    blocks = list(range(tower.layers))
    with torch.no_grad():
        reference = clip.visual.forward_intermediates(
            image, indices=blocks, output_fmt='NLC', output_extra_tokens=True)
        # open_clip projects only the pooled token: its patches, likewise
        tokens = clip.visual.ln_post(reference['image_intermediates'][-1])
        kept, global_embedding, patches = tower.forward_intermediates(
            image, blocks)
    assert len(kept) == len(blocks)
    for block, ours, patch_tokens, class_token in zip(
            blocks, kept, reference['image_intermediates'],
            reference['image_intermediates_prefix']):
        assert close(ours[:, 1:], patch_tokens), block
        assert close(ours[:, :1], class_token), block
    assert close(global_embedding, reference['image_features'])
    assert close(patches, tokens @ clip.visual.proj)


def cascade_reference(backbone, clip, image) -> tuple:
    """The Cascade encoder's maps and global embedding, computed with
    open_clip's image tower: the class position doubled as the paper's
    encoder does, the encoder's prompts put into open_clip's sequence after
    ``ln_pre``, behind the class token (each block ``1..prompt_depth`` its
    own), by hooks, and the maps of the stage rule's blocks, in block order,
    passed through the encoder's own (not CLIP's) ``prompt_norm``,
    ``ln_layers`` and ``proj_layers``."""
    visual, count = clip.visual, backbone.num_prompt_tokens
    layers = len(visual.transformer.resblocks)
    outputs = []

    def before_ln_pre(module, args):
        x = args[0].clone()
        x[:, 0] += visual.class_embedding
        return (x, )

    def after_ln_pre(module, args, x):
        prompts = backbone._prompts(backbone.prompt_embeddings, x.shape[0])
        return torch.cat([x[:, :1], prompts, x[:, 1:]], dim=1)

    def before_block(index):

        def hook(module, args):
            if not 1 <= index <= cascade_prompt_depth(layers):
                return None
            x = args[0]
            prompts = backbone._prompts(
                backbone.deep_prompt_embeddings[index - 1:index], x.shape[0])
            return (torch.cat([x[:, :1], prompts, x[:, 1 + count:]],
                              dim=1), ) + args[1:]

        return hook

    hooks = [
        visual.ln_pre.register_forward_pre_hook(before_ln_pre),
        visual.ln_pre.register_forward_hook(after_ln_pre)
    ]
    for index, block in enumerate(visual.transformer.resblocks):
        hooks.append(block.register_forward_pre_hook(before_block(index)))
        hooks.append(
            block.register_forward_hook(
                lambda module, args, out: outputs.append(out)))
    try:
        with torch.no_grad():
            visual(image)
    finally:
        for hook in hooks:
            hook.remove()
    batch = image.shape[0]
    h, w = (size // visual.patch_size[0] for size in image.shape[2:])

    def as_map(tokens):
        return F.normalize(
            tokens, dim=-1).transpose(1, 2).reshape(batch, -1, h, w)

    with torch.no_grad():
        maps = [
            as_map(
                ln(backbone.prompt_norm(outputs[block][:, -h * w:])) @ proj)
            for block, ln, proj in zip(
                cascade_out_indices(layers), backbone.ln_layers,
                backbone.proj_layers)
        ]
        last = visual.ln_post(backbone.prompt_norm(outputs[-1])) @ visual.proj
        maps.append(as_map(last[:, -h * w:]))
    return maps, F.normalize(last[:, 0], dim=-1)


def cascade_matches(backbone, clip, image) -> None:
    with torch.no_grad():
        maps, global_embedding = backbone.eval()(image)
    reference, reference_global = cascade_reference(backbone, clip, image)
    assert len(maps) == len(reference) == 7
    for k, (ours, expected) in enumerate(zip(maps, reference)):
        assert close(ours, expected), k
    assert close(global_embedding, reference_global)


def text_encoder_matches(encoder: CLIPTextTransformer, clip) -> None:
    """Embeddings of class prompts, mmseg's tokenizer against open_clip's."""
    tokens = open_clip.tokenize(TEXTS)
    assert torch.equal(tokenize(TEXTS, encoder.context_length), tokens)
    with torch.no_grad():
        assert close(encoder.eval().encode(TEXTS), clip.encode_text(tokens))


# --------------------------------------------------------- tiny open_clips
def tiny_open_clip(quick_gelu: bool) -> torch.nn.Module:
    """An open_clip CLIP of the tiny 24-block config's sizes (head widths
    set so that its heads are the config's)."""
    model = tiny_model_config(TINY24_CONFIG)
    backbone, text = model['backbone'], model['text_encoder']
    torch.manual_seed(0)
    return randomize(
        open_clip.CLIP(
            embed_dim=backbone['embed_dims'],
            vision_cfg=dict(
                image_size=backbone['input_resolution'],
                layers=backbone['layers'],
                width=backbone['width'],
                head_width=backbone['width'] // backbone['heads'],
                patch_size=backbone['patch_size']),
            text_cfg=dict(
                context_length=text['context_length'],
                vocab_size=49408,
                width=text['width'],
                heads=text['heads'],
                layers=text['layers']),
            quick_gelu=quick_gelu))


# open_clip's files: its Hugging Face ones and a training checkpoint
FILES = {
    'state_dict': 'open_clip_pytorch_model.bin',
    'safetensors': 'open_clip_model.safetensors',
    'training_checkpoint': 'epoch_1.pt'
}


@pytest.mark.parametrize('quick_gelu, file_format',
                         [(True, 'state_dict'), (False, 'safetensors'),
                          (False, 'training_checkpoint')])
def test_the_tiny_24_block_model_loads_open_clip_and_computes_as_it(
        tmp_path, quick_gelu, file_format):
    """The tiny 24-block config's segmentor loads an open_clip file through
    ``pretrained``; its towers and its encoder's maps equal open_clip's."""
    clip = tiny_open_clip(quick_gelu)
    path = str(tmp_path / FILES[file_format])
    save_clip_weights(clip.state_dict(), path, file_format)
    cfg = tiny_model_config(TINY24_CONFIG, pretrained=path)
    for part in ('backbone', 'text_encoder'):
        cfg[part] = dict(cfg[part], quick_gelu=quick_gelu)
    model = MODELS.build(cfg)
    model.init_weights()
    image = torch.randn(2, 3, 64, 64)
    image_tower_matches(model.backbone.eval(), clip, image)
    cascade_matches(model.backbone, clip, image)
    text_encoder_matches(model.text_encoder, clip)


# open_clip's loader reads the archive with torch.jit.load, deprecated
@pytest.mark.filterwarnings('ignore:`torch.jit.load` is deprecated')
def test_an_openai_archive_loads_as_open_clip_loads_it(tmp_path):
    """A TorchScript archive in OpenAI's format (what ``ViT-B-16.pt`` is),
    read by open_clip's own loader and by ours (64-wide heads, as open_clip
    assumes for OpenAI's models)."""
    path = str(tmp_path / 'ViT-tiny.pt')
    write_tiny_clip(
        path,
        vision_width=128,
        vision_layers=3,
        vision_heads=2,
        text_width=64,
        text_heads=1,
        text_layers=2)
    clip = open_clip.load_openai_model(path, precision='fp32', device='cpu')
    weights = read_clip_weights(path)
    tower = CLIPVisionTower(
        input_resolution=64, width=128, layers=3, heads=2, embed_dims=32)
    tower.load_clip_weights(weights, path)
    image_tower_matches(tower.eval(), clip.eval(), torch.randn(1, 3, 64, 64))
    text_encoder_matches(CLIPTextTransformer.from_clip_weights(path), clip)


# ------------------------------------------------ ViT-B/16 and ViT-L/14
@pytest.fixture(scope='module', params=sorted(CONFIGS))
def real_clip(request):
    """open_clip's model of that name with random weights (LAION's
    layout: GELU)."""
    torch.manual_seed(0)
    clip = randomize(open_clip.create_model(request.param, pretrained=None))
    yield request.param, clip
    del clip


def test_the_image_tower_of_our_config_computes_as_open_clip(real_clip):
    """The config's image encoder (its sizes, its stage rule's blocks) with
    open_clip's weights: the tower's outputs at every block and the Cascade
    encoder's maps."""
    name, clip = real_clip
    backbone = MODELS.build(
        config_part(
            name,
            'backbone',
            quick_gelu=False,
            input_resolution=clip.visual.image_size[0]))
    backbone.load_clip_weights(clip.state_dict(), name)
    layers = backbone.layers
    assert backbone.out_indices == cascade_out_indices(layers)
    image = torch.randn(1, 3, *clip.visual.image_size)
    image_tower_matches(backbone.eval(), clip, image)
    cascade_matches(backbone, clip, image)


def test_the_text_encoder_of_our_config_computes_as_open_clip(real_clip):
    name, clip = real_clip
    encoder = MODELS.build(config_part(name, 'text_encoder', quick_gelu=False))
    encoder.load_clip_weights(clip.state_dict(), name)
    text_encoder_matches(encoder, clip)


def test_the_other_models_config_is_refused_in_one_line(real_clip):
    name, clip = real_clip
    other = 'ViT-L-14' if name == 'ViT-B-16' else 'ViT-B-16'
    with torch.device('meta'):
        model = MODELS.build(config_part(other, 'backbone'))
    with pytest.raises(CLIPWeightsError) as info:
        model.load_clip_weights(clip.state_dict(), f'{name}.pt')
    shapes = {
        'ViT-B-16':
        'a ViT-B/16 image tower (width 768, 12 blocks, patch '
        '16, embed 512)',
        'ViT-L-14':
        'a ViT-L/14 image tower (width 1024, 24 blocks, patch '
        '14, embed 768)'
    }
    config_shape = shapes[other].split('(')[1].rstrip(')')
    assert str(info.value).startswith(
        f'{name}.pt holds {shapes[name]}, but the config\'s backbone is '
        f'{config_shape} (a {shapes[other].split()[1]}): ')
