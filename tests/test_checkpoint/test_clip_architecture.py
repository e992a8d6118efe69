"""Which CLIPs load, read from their tensors: open_clip's checkpoint layouts,
a config that does not fit its CLIP, and models outside the supported
family, each refused in one line."""
import pytest
import torch
from mmseg.registry import MODELS

from cascade_clip.checkpoint import (CLIPWeightsError, ImageTowerShape,
                                     TextTowerShape, check_fits,
                                     read_clip_weights, supported_tower)
from cascade_clip.testing import (tiny_clip_sizes, tiny_clip_state_dict,
                                  tiny_model_config, write_tiny_clip)

SUPPORTED = ('supported: CLIP ViTs laid out as OpenAI\'s (class token, '
             'ln_pre, 4x MLP, projection matrices), e.g. OpenAI\'s ViT-B/32, '
             'ViT-B/16, ViT-L/14 and ViT-L/14@336 archives and open_clip '
             'checkpoints of these models (clip_pretrain/README.md)')
VIT_B_16 = ImageTowerShape(768, 12, 16, 512, grid=14)
VIT_L_14 = ImageTowerShape(1024, 24, 14, 768, grid=16)


@pytest.fixture(scope='module')
def weights():
    torch.manual_seed(0)
    return tiny_clip_state_dict(**tiny_clip_sizes())


def test_an_open_clip_training_checkpoint_loads(tmp_path):
    """open_clip's ``epoch_N.pt``: the state dict under ``state_dict``, its
    keys prefixed with ``module.`` (DDP), beside the run's other items."""
    path = str(tmp_path / 'epoch_32.pt')
    weights = write_tiny_clip(path, 'training_checkpoint')
    read = read_clip_weights(path)
    assert 'visual.conv1.weight' in read and 'logit_scale' in read
    model = MODELS.build(tiny_model_config(pretrained=path))
    model.init_weights()
    assert torch.equal(model.backbone.conv1.weight,
                       weights['visual.conv1.weight'].float())
    assert torch.equal(model.text_encoder.text_projection,
                       weights['text_projection'].float())


def test_shapes_are_read_from_the_tensors(weights):
    sizes = tiny_clip_sizes()
    image = ImageTowerShape.of_weights(supported_tower(weights, 'visual'))
    assert image == ImageTowerShape(
        sizes['vision_width'], sizes['vision_layers'], sizes['patch_size'],
        sizes['embed_dims'], sizes['image_resolution'] // sizes['patch_size'])
    text = TextTowerShape.of_weights(supported_tower(weights, 'text'))
    assert text == TextTowerShape(sizes['text_width'], sizes['text_layers'],
                                  sizes['context_length'], 49408,
                                  sizes['embed_dims'])


def _refusal(file_shape, model_shape, heads, source, part) -> str:
    with pytest.raises(CLIPWeightsError) as info:
        check_fits(file_shape, model_shape, heads, source, part)
    return str(info.value)


def test_a_vit_l14_under_a_vit_b16_config_is_named_in_one_line():
    assert _refusal(VIT_L_14, ImageTowerShape(
        768, 12, 16, 512, grid=32
    ), 12, 'clip_pretrain/ViT-L-14.pt', 'backbone') == (
        'clip_pretrain/ViT-L-14.pt holds a ViT-L/14 image tower (width 1024, '
        '24 blocks, patch 14, embed 768), but the config\'s backbone is '
        'width 768, 12 blocks, patch 16, embed 512 (a ViT-B/16): point '
        'model.pretrained at a CLIP of the config\'s shape, or use a config '
        'made for this CLIP (clip_pretrain/README.md)')
    # 336 px positions name the other OpenAI archive; the grid itself is
    # resized on loading, so it never disagrees
    assert ImageTowerShape(1024, 24, 14, 768, grid=24).name() == \
        'ViT-L/14@336'
    check_fits(VIT_B_16, ImageTowerShape(768, 12, 16, 512, grid=32), 12,
               'ViT-B-16.pt', 'backbone')


def test_the_heads_of_a_named_clip_are_checked():
    assert _refusal(
        VIT_L_14, ImageTowerShape(1024, 24, 14, 768,
                                  grid=36), 12, 'ViT-L-14.pt', 'backbone'
    ) == ('ViT-L-14.pt holds a ViT-L/14 image tower with 16 heads of 64, but '
          'the config\'s backbone has 12 heads: set backbone.heads=16')
    text = TextTowerShape(768, 12, 77, 49408, 768)
    check_fits(text, text, 12, 'ViT-L-14.pt', 'text_encoder')
    assert _refusal(text, text, 8, 'ViT-L-14.pt',
                    'text_encoder').endswith('set text_encoder.heads=12')


def _without(weights, *names):
    return {k: v for k, v in weights.items() if k not in names}


def _convnext(weights):
    """open_clip's ``convnext_base``: a timm trunk, OpenAI's text tower."""
    text = {k: v for k, v in weights.items() if not k.startswith('visual.')}
    return dict(
        text, **{
            'visual.trunk.stem.0.weight': torch.zeros(128, 3, 4, 4),
            'visual.trunk.stages.0.blocks.0.conv_dw.weight': torch.zeros(1),
            'visual.head.proj.weight': torch.zeros(512, 1024)
        })


def _siglip(weights):
    """open_clip's ``ViT-B-16-SigLIP``: a timm ViT without a class token
    (attention pooling), a custom text tower and a logit bias."""
    return {
        'visual.trunk.pos_embed': torch.zeros(1, 196, 768),
        'visual.trunk.attn_pool.latent': torch.zeros(1, 1, 768),
        'text.token_embedding.weight': torch.zeros(32000, 768),
        'text.text_projection.weight': torch.zeros(768, 768),
        'logit_scale': torch.zeros(()),
        'logit_bias': torch.zeros(()),
    }


def _linear_proj(weights):
    visual = _without(weights, 'visual.proj')
    proj = weights['visual.proj']
    return dict(
        visual, **{
            'visual.proj.weight': proj.t(),
            'visual.proj.bias': torch.zeros(proj.shape[1])
        })


def _layer_scale(weights):
    width = weights['visual.class_embedding'].shape[0]
    return dict(
        weights, **{
            f'visual.transformer.resblocks.{i}.ls_{j}.gamma': torch.ones(width)
            for i in range(2)
            for j in (1, 2)
        })


def _wide_mlp(weights):
    wide = dict(weights)
    for key in [k for k in weights if '.mlp.' in k]:
        tensor = weights[key]
        if key.endswith('c_fc.weight'):
            wide[key] = torch.cat([tensor, tensor[:tensor.shape[0] // 4]])
    return wide


def _custom_text(weights):
    return dict(
        _without(
            weights, *[
                k for k in weights
                if k.startswith(('transformer.', 'token_embedding', 'ln_final',
                                 'text_proj'))
            ]), **{
                'text.transformer.embeddings.word_embeddings.weight':
                torch.zeros(250002, 768)
            })


def _linear_text_projection(weights):
    proj = weights['text_projection']
    return dict(
        _without(weights, 'text_projection'), **{
            'text_projection.weight': proj.t(),
            'text_projection.bias': torch.zeros(proj.shape[1])
        })


# what the checkpoint is -> what the line says it holds
UNSUPPORTED = {
    'convnext': (_convnext, 'a timm image tower (visual.trunk.*: ConvNeXt, '
                 'SigLIP, EVA, ...)'),
    'siglip': (_siglip, 'a timm image tower (visual.trunk.*: ConvNeXt, '
               'SigLIP, EVA, ...)'),
    'no_class_token':
    (lambda w: _without(w, 'visual.class_embedding'),
     'an image tower without a class token (no visual.class_embedding)'),
    'no_ln_pre':
    (lambda w: _without(w, 'visual.ln_pre.weight', 'visual.ln_pre.bias'),
     'an image tower without ln_pre (no_ln_pre)'),
    'attentional_pool':
    (lambda w: dict(w, **{'visual.attn_pool.query': torch.zeros(256, 32)}),
     'attentional pooling (visual.attn_pool*)'),
    'proj_bias':
    (_linear_proj, 'a linear image projection (visual.proj.weight)'),
    'layer_scale': (_layer_scale, 'visual tensors outside that layout '
                    '(transformer.resblocks.0.ls_1.gamma, '
                    'transformer.resblocks.0.ls_2.gamma, '
                    'transformer.resblocks.1.ls_1.gamma, ...)'),
    'mlp_ratio': (_wide_mlp, 'an MLP 320 wide for a 64-wide visual tower'),
    'custom_text': (_custom_text, 'a custom text tower (text.*: a Hugging '
                    'Face or SigLIP text encoder)'),
    'text_proj_bias': (_linear_text_projection, 'a linear text projection '
                       '(text_projection.weight)'),
}


@pytest.mark.parametrize('model', sorted(UNSUPPORTED))
def test_a_checkpoint_outside_the_family_is_refused_in_one_line(
        tmp_path, weights, model):
    make, what = UNSUPPORTED[model]
    path = str(tmp_path / 'open_clip_pytorch_model.bin')
    torch.save(make(weights), path)
    model = MODELS.build(tiny_model_config(pretrained=path))
    with pytest.raises(CLIPWeightsError) as info:
        model.init_weights()
    assert str(info.value) == (
        f'{path} holds {what}, which this project cannot load; {SUPPORTED}')


def test_the_other_openai_vits_fit_the_configs_they_are_documented_with():
    """clip_pretrain/README.md: ViT-L/14@336 under the ViT-L/14 configs
    (its 24x24 positions resized), ViT-B/32 under the ViT-B/16 ones with
    ``patch_size=32``."""
    vit_l_14_336 = ImageTowerShape(1024, 24, 14, 768, grid=24)
    assert vit_l_14_336.name() == 'ViT-L/14@336'
    check_fits(vit_l_14_336, ImageTowerShape(1024, 24, 14, 768, grid=36), 16,
               'ViT-L-14-336px.pt', 'backbone')
    vit_b_32 = ImageTowerShape(768, 12, 32, 512, grid=7)
    assert vit_b_32.name() == 'ViT-B/32'
    check_fits(vit_b_32, ImageTowerShape(768, 12, 32, 512, grid=16), 12,
               'ViT-B-32.pt', 'backbone')
    assert _refusal(
        vit_b_32, ImageTowerShape(768, 12, 16, 512,
                                  grid=32), 12, 'ViT-B-32.pt',
        'backbone').startswith('ViT-B-32.pt holds a ViT-B/32 image tower')
