"""tools/export_onnx.py on a checkpoint of the paper's code (a golden
case's, with --config): the ONNX files compute what the PyTorch model
computes, and the runtime, in a Python that cannot import torch, labels
images as tools/infer.py does with the same checkpoint."""
import json
import os.path as osp
import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import golden_cases
from deploy_helpers import (assert_same_pictures, copy_runtime,
                            require_deploy_packages, run_runtime, shares_lines,
                            torch_free_env, write_images)
from mmengine.config import Config
from mmseg.utils import tokenize
from tools_helpers import VOC_INDUCTIVE, run_tool, run_tool_here

from cascade_clip.apis import init_model
from cascade_clip.checkpoint import model_config_from_official
from cascade_clip.deploy.export import ImageModel, export_onnx
from cascade_clip.models.text_embeddings import encode_class_names
from cascade_clip.structures.class_names import VOC20_CLASSES
from cascade_clip_runtime.manifest import IMAGE_MODEL, MANIFEST, TEXT_ENCODER

require_deploy_packages()
import onnx  # noqa: E402
import onnxruntime  # noqa: E402

FIXED = ['cat', 'grass', 'sky', 'road']


def paper_case() -> str:
    """A golden case of a transductive model (seen-class shift 0, its
    positional grid resized at every pass) where there is one, else the
    first."""
    cases = golden_cases()
    assert cases, 'no golden cases: set CASCADE_GOLDEN_DIR'
    for case in cases:
        official = torch.load(case + '.pt', weights_only=True)
        if official['official_model_cfg'].get('self_training'):
            return case
    return cases[0]


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    """The golden case's checkpoint exported by the tool, with a config
    made from the case's model and the tiny VOC config's data settings."""
    root = tmp_path_factory.mktemp('paper_export')
    case = paper_case()
    official = torch.load(case + '.pt', weights_only=True)
    model = model_config_from_official(
        official['official_model_cfg'], class_names=list(VOC20_CLASSES))
    cfg = Config.fromfile(VOC_INDUCTIVE)
    cfg.model = dict(model, data_preprocessor=cfg.model.data_preprocessor)
    config = str(root / 'paper_case.py')
    cfg.dump(config)
    checkpoint = case + '.checkpoint.pth'
    out = str(root / 'onnx')
    start = time.perf_counter()
    result = run_tool([
        'export_onnx.py', config, checkpoint, '--out', out, '--classes',
        ','.join(FIXED)
    ], str(root))
    seconds = time.perf_counter() - start
    print(f'export of {osp.basename(case)} by the tool: {seconds:.1f} s')
    return dict(
        root=str(root),
        config=config,
        checkpoint=checkpoint,
        out=out,
        stdout=result.stdout,
        model=init_model(config, checkpoint, 'cpu'))


def test_the_folder_holds_the_models_and_what_a_runtime_needs(exported):
    out, model = exported['out'], exported['model']
    with open(osp.join(out, MANIFEST)) as f:
        manifest = json.load(f)
    for name in (IMAGE_MODEL, TEXT_ENCODER, 'bpe_simple_vocab_16e6.txt.gz',
                 'DejaVuSans.ttf', 'class_embeddings.npy'):
        assert f'wrote {out}/{name}' in exported['stdout']
    image = manifest['image']
    assert image['window'] == list(model.test_cfg['crop_size'])
    assert image['stride'] == list(model.test_cfg['stride'])
    assert image['mean'] == [123.675, 116.28, 103.53]
    assert image['channel_order'] == 'rgb'
    assert image['resize'] == dict(
        type='shortest_edge', scale=64, max_size=100000)
    classes = manifest['model_classes']
    assert classes['names'] == list(VOC20_CLASSES)
    assert classes['seen'] == model.seen_classes
    assert classes['seen_score_shift'] == model.decode_head.seen_score_shift
    assert manifest['fixed_classes']['names'] == FIXED
    assert manifest['embed_dims'] == model.decode_head.embed_dims
    for name, role in ((IMAGE_MODEL, 'image_model'), (TEXT_ENCODER,
                                                      'text_encoder')):
        meta = {
            p.key: p.value
            for p in onnx.load(osp.join(out, name)).metadata_props
        }
        assert meta['cascade_clip.role'] == role
        assert meta['cascade_clip.export_id'] == manifest['export_id']


@pytest.mark.parametrize('batch, num_classes', [(3, 7), (1, 2)])
def test_image_model_scores_are_the_segmentor_s(exported, batch, num_classes):
    """Any batch and class count; the per-class shift given as the model's
    seen-class shift on its seen channels gives ``_encode_decode``'s
    scores."""
    model = exported['model']
    height, width = model.test_cfg['crop_size']
    generator = torch.Generator().manual_seed(batch)
    windows = torch.randn(batch, 3, height, width, generator=generator)
    embeddings = F.normalize(
        torch.randn(
            num_classes, model.decode_head.embed_dims, generator=generator),
        dim=-1)
    seen = list(range(0, num_classes, 2))
    model.set_classes(
        embeddings,
        seen_classes=seen,
        unseen_classes=[k for k in range(num_classes) if k not in seen])
    shift = model.seen_mask.float() * model.decode_head.seen_score_shift
    with torch.no_grad():
        expected = model._encode_decode(windows)
        wrapped = ImageModel(model)(windows, embeddings, shift)
    assert torch.equal(wrapped, expected)
    session = onnxruntime.InferenceSession(
        osp.join(exported['out'], IMAGE_MODEL),
        providers=['CPUExecutionProvider'])
    [scores] = session.run(
        None,
        dict(
            window=windows.numpy(),
            class_embeddings=embeddings.numpy(),
            score_shift=shift.numpy()))
    assert scores.shape == tuple(expected.shape)
    assert np.abs(scores - expected.numpy()).max() <= 1e-4


def test_text_encoder_gives_the_model_s_normalised_embeddings(exported):
    model = exported['model']
    prompts = [f'a photo of a {name}.' for name in VOC20_CLASSES]
    tokens = tokenize(prompts, model.text_encoder.context_length)
    with torch.no_grad():
        expected = F.normalize(model.text_encoder(tokens), dim=-1).numpy()
    session = onnxruntime.InferenceSession(
        osp.join(exported['out'], TEXT_ENCODER),
        providers=['CPUExecutionProvider'])
    [embeddings] = session.run(None, dict(tokens=tokens.numpy()))
    cosine = (embeddings * expected).sum(-1) / np.linalg.norm(
        embeddings, axis=-1)
    assert cosine.min() >= 0.99999
    assert np.abs(embeddings - expected).max() <= 1e-5


def test_fixed_class_embeddings_are_the_text_encoder_s(exported):
    stored = np.load(osp.join(exported['out'], 'class_embeddings.npy'))
    expected = encode_class_names(exported['model'].text_encoder, FIXED,
                                  'multi')
    assert np.abs(stored - expected.numpy()).max() <= 1e-6


def test_paper_checkpoint_segments_as_tools_infer_without_torch(exported):
    """The runtime's folder copied out alone, in a Python that cannot import
    torch, and tools/infer.py with the paper's checkpoint and --config: the
    same labels, shares and pictures."""
    root = exported['root']
    images = osp.join(root, 'images')
    paths = write_images(images, [(120, 200), (90, 61), (64, 64)], seed=1)
    classes = 'cat,grass,sky,road,tree,person'
    expected = run_tool([
        'infer.py', images, '--checkpoint', exported['checkpoint'], '--config',
        exported['config'], '--classes', classes, '--out',
        osp.join(root, 'torch_out'), '--device', 'cpu'
    ], root).stdout
    copied = copy_runtime(osp.join(root, 'copied'))
    env = torch_free_env(osp.join(root, 'blocker'))
    result = run_runtime(copied, [
        images, '--model', exported['out'], '--classes', classes, '--out',
        osp.join(root, 'onnx_out')
    ], env)
    assert shares_lines(result.stdout) == shares_lines(expected)
    differing = assert_same_pictures(paths, classes.split(','),
                                     osp.join(root, 'onnx_out'),
                                     osp.join(root, 'torch_out'),
                                     exported['checkpoint'],
                                     exported['config'])
    print(f'pixels labelled differently (ties): {differing}')


def test_what_cannot_be_exported_is_one_line(exported, tmp_path, monkeypatch,
                                             capsys):
    config = exported['config']
    checkpoint = exported['checkpoint']
    cfg = Config.fromfile(config)
    with pytest.raises(FileExistsError, match='--overwrite'):
        export_onnx(config, checkpoint, exported['out'])
    with pytest.raises(ValueError, match='give --classes'):
        export_onnx(config, checkpoint, str(tmp_path), text_encoder=False)
    cfg.test_pipeline.insert(1, dict(type='RandomFlip', prob=1.0))
    flipped = str(tmp_path / 'flipped.py')
    cfg.dump(flipped)
    with pytest.raises(ValueError, match='RandomFlip has no counterpart'):
        export_onnx(flipped, checkpoint, str(tmp_path / 'a'))
    code = run_tool_here([
        'export_onnx.py', config, checkpoint, '--out',
        str(tmp_path / 'b'), '--cfg-options', 'model.test_cfg.mode=whole'
    ], str(tmp_path), monkeypatch)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1
    assert err[0].startswith("error: model.test_cfg.mode is 'whole'")
    assert not osp.exists(tmp_path / 'b' / MANIFEST)
