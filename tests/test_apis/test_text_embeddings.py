"""Class text embeddings: the tool's .npy equals what the model computes."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmseg.registry import MODELS
from tools_helpers import run_tool

from cascade_clip.apis.text_embeddings import generate_text_embeddings
from cascade_clip.models.text_embeddings import (MULTI_TEMPLATES,
                                                 encode_class_names,
                                                 resolve_templates)
from cascade_clip.structures import ZERO_SHOT_SPLITS
from cascade_clip.testing import tiny_model_config, write_tiny_clip


@pytest.fixture(scope='module')
def clip_file(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('clip') / 'ViT-B-16.pt')
    write_tiny_clip(path)
    return path


def test_tool_file_equals_the_models_own_embeddings(clip_file, tmp_path):
    out = tmp_path / 'voc20_single.npy'
    run_tool([
        'gen_text_embeddings.py', clip_file, '--classes', 'voc20',
        '--templates', 'single', '--out', out, '--heads', '4'
    ], str(tmp_path))
    written = np.load(out)
    assert written.shape == (20, 32) and written.dtype == np.float32

    model = MODELS.build(
        tiny_model_config(pretrained=clip_file, class_names='voc20'))
    model.init_weights()
    computed = model.get_class_embeddings()
    assert torch.allclose(torch.from_numpy(written), computed, atol=1e-6)

    from_file = MODELS.build(
        tiny_model_config(class_names='voc20', text_embeddings=str(out)))
    assert torch.equal(from_file.get_class_embeddings(),
                       torch.from_numpy(written))


def test_a_gelu_clip(clip_file, tmp_path):
    """--gelu: the embeddings of the text encoder with GELU (open_clip's
    LAION models), which differ from QuickGELU's."""
    out = tmp_path / 'gelu.npy'
    run_tool([
        'gen_text_embeddings.py', clip_file, '--classes', 'cat,grass', '--out',
        out, '--heads', '4', '--gelu'
    ], str(tmp_path))
    cfg = tiny_model_config(pretrained=clip_file, class_names=['cat', 'grass'])
    expected = {}
    for quick_gelu in (True, False):
        cfg['text_encoder'] = dict(cfg['text_encoder'], quick_gelu=quick_gelu)
        model = MODELS.build(cfg)
        model.init_weights()
        expected[quick_gelu] = model.get_class_embeddings()
    written = torch.from_numpy(np.load(out))
    assert torch.allclose(written, expected[False], atol=1e-6)
    assert not torch.allclose(written, expected[True], atol=1e-3)


def test_multi_templates_average_normalised_prompts(clip_file):
    model = MODELS.build(tiny_model_config(pretrained=clip_file))
    model.init_weights()
    encoder = model.text_encoder.eval()
    names = ['cat', 'wall-brick']
    ours = encode_class_names(encoder, names, 'multi')
    with torch.no_grad():
        for row, name in zip(ours, names):
            prompts = [t.format(name) for t in MULTI_TEMPLATES]
            each = F.normalize(encoder.encode(prompts), dim=-1)
            assert torch.allclose(
                row, F.normalize(each.mean(0), dim=0), atol=1e-6)
    assert len(MULTI_TEMPLATES) == 15


def test_comma_separated_classes_and_a_class_file(clip_file, tmp_path):
    names = tmp_path / 'names.txt'
    names.write_text('cat\n\ngrass\nsky\n')
    from_file = generate_text_embeddings(
        clip_file, str(names), 'multi', heads=4)
    run_tool([
        'gen_text_embeddings.py', clip_file, '--classes', 'cat, grass,sky',
        '--templates', 'multi', '--out', tmp_path / 'mine.npy', '--heads', '4'
    ], str(tmp_path))
    assert torch.allclose(
        torch.from_numpy(np.load(tmp_path / 'mine.npy')), from_file)
    assert from_file.shape[0] == 3


def test_every_setting_has_its_classes():
    assert [
        len(ZERO_SHOT_SPLITS[k]['classes'])
        for k in ('voc20', 'context59', 'coco_stuff171')
    ] == [20, 59, 171]


def test_bad_templates_and_class_names():
    with pytest.raises(ValueError, match='exactly one'):
        resolve_templates(['a photo'])
    with pytest.raises(ValueError, match='one of'):
        resolve_templates('fifteen')
    with pytest.raises(ValueError, match='neither a known setting'):
        MODELS.build(tiny_model_config(class_names='voc99'))
