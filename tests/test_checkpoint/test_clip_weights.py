"""Loading CLIP's weights from tiny files written in the real formats."""
import pytest
import torch
import torch.nn.functional as F
from mmseg.registry import MODELS

from cascade_clip.checkpoint import (VIT_B_16_URL, CLIPWeightsError,
                                     read_clip_weights)
from cascade_clip.testing.tiny_clip import tiny_model_config, write_tiny_clip

FORMATS = {
    'torchscript': 'ViT-B-16.pt',
    'state_dict': 'clip_state_dict.pth',
    'safetensors': 'clip.safetensors',
}


@pytest.mark.parametrize('file_format', sorted(FORMATS))
def test_every_tensor_loads_unchanged(tmp_path, file_format):
    path = str(tmp_path / FORMATS[file_format])
    source = write_tiny_clip(path, file_format)
    model = MODELS.build(tiny_model_config(pretrained=path))
    model.init_weights()

    visual = model.backbone.state_dict()
    text = model.text_encoder.state_dict()
    checked = 0
    for key, tensor in source.items():
        if key.startswith('visual.'):
            ours = visual[key[len('visual.'):]]
        elif key in text:
            ours = text[key]
        else:  # logit_scale and the size descriptors are not weights we use
            assert key in ('logit_scale', 'input_resolution', 'context_length',
                           'vocab_size')
            continue
        assert ours.dtype == torch.float32
        assert torch.equal(ours, tensor.float()), key
        checked += 1
    assert checked == len(model.backbone.clip_keys()) + len(text)


def test_positional_grid_is_resized_once(tmp_path):
    path = str(tmp_path / 'ViT-B-16.pt')
    source = write_tiny_clip(path, image_resolution=32)  # a 2x2 grid
    model = MODELS.build(tiny_model_config(pretrained=path))  # a 4x4 grid
    model.init_weights()
    stored = source['visual.positional_embedding'].float()
    grid = stored[1:].reshape(1, 2, 2, -1).permute(0, 3, 1, 2)
    expected = F.interpolate(
        grid, size=(4, 4), mode='bilinear', align_corners=False)
    expected = torch.cat(
        [stored[:1], expected.permute(0, 2, 3, 1).reshape(16, -1)])
    assert torch.equal(model.backbone.positional_embedding.data, expected)


def test_missing_file_says_where_to_get_it(tmp_path, monkeypatch):
    path = str(tmp_path / 'clip_pretrain' / 'ViT-B-16.pt')
    model = MODELS.build(tiny_model_config(pretrained=path))
    with pytest.raises(FileNotFoundError) as info:
        model.init_weights()
    assert path in str(info.value)
    assert VIT_B_16_URL in str(info.value)
    assert 'clip_pretrain/ViT-B-16.pt' in str(info.value)
    # the tiny configs' random CLIP: the command that writes it
    tiny = 'clip_pretrain/tiny-clip.pt'
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError) as info:
        read_clip_weights(tiny)
    assert str(info.value) == (
        f'CLIP weights not found: {tiny}. The tiny configs (configs/tiny/) '
        'use a random tiny CLIP: write it with `python '
        f'tools/make_tiny_clip.py {tiny}`.')


@pytest.mark.parametrize('file_format', sorted(FORMATS))
def test_truncated_file(tmp_path, file_format):
    path = str(tmp_path / FORMATS[file_format])
    write_tiny_clip(path, file_format)
    with open(path, 'rb') as f:
        data = f.read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])
    with pytest.raises(CLIPWeightsError) as info:
        read_clip_weights(path)
    assert path in str(info.value)
    assert 'truncated' in str(info.value)
    assert VIT_B_16_URL in str(info.value)


def test_not_a_weight_file(tmp_path):
    path = tmp_path / 'ViT-B-16.pt'
    path.write_text('<html>404 Not Found</html>')
    with pytest.raises(CLIPWeightsError, match='ViT-B-16.pt'):
        read_clip_weights(str(path))


def test_weights_of_another_model(tmp_path):
    path = str(tmp_path / 'resnet.pth')
    torch.save({'conv1.weight': torch.zeros(2, 3, 1, 1)}, path)
    model = MODELS.build(tiny_model_config(pretrained=path))
    with pytest.raises(CLIPWeightsError, match='no visual tower weights'):
        model.init_weights()


@pytest.mark.parametrize(
    'sizes, line',
    [(dict(vision_width=48), 'an image tower (width 48, 12 blocks, patch 16, '
      'embed 32), but the config\'s backbone is width 64, 12 blocks, patch '
      '16, embed 32'),
     (dict(text_layers=3), 'a text tower (width 32, 3 blocks, context 77, '
      'vocabulary 49408, embed 32), but the config\'s text_encoder is width '
      '32, 2 blocks, context 77, vocabulary 49408, embed 32')])
def test_weights_of_another_size(tmp_path, sizes, line):
    """One line naming the file's shape and the config's."""
    path = str(tmp_path / 'ViT-B-16.pt')
    write_tiny_clip(path, **sizes)
    model = MODELS.build(tiny_model_config(pretrained=path))
    with pytest.raises(CLIPWeightsError) as info:
        model.init_weights()
    assert str(info.value) == (
        f'{path} holds {line}: point model.pretrained at a CLIP of the '
        'config\'s shape, or use a config made for this CLIP '
        '(clip_pretrain/README.md)')
