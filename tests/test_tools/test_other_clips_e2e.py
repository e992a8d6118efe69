"""The tools with a CLIP of another depth: the tiny 24-block config (patch
14 as ViT-L/14's, the stage rule's blocks and prompt depth) trained by
tools/train.py from a CLIP that tools/make_tiny_clip.py writes for it; its
checkpoint segments images through tools/infer.py, exports through
tools/export_onnx.py (onnxruntime runs its image model) and serves the web
demo's request function."""
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import REPO
from PIL import Image
from tools_helpers import make_workspace, run_tool, work_dir

from cascade_clip.apis import init_model
from cascade_clip.checkpoint import load_weights_only, read_clip_weights
from cascade_clip.models.backbones.cascade_layout import cascade_out_indices

TINY24 = osp.join(REPO, 'configs', 'tiny',
                  'cascade-clip_tiny24_1xb2-40_voc20-64x64_inductive.py')
CLIP_24 = osp.join('clip_pretrain', 'tiny-clip-24.pt')
CLASSES = 'cat,grass,sky'


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """The tiny 24-block run, 40 iterations, in a workspace of the tiny
    VOC data, with an image to segment."""
    root = make_workspace(str(tmp_path_factory.mktemp('other_clips')))
    run_tool(['make_tiny_clip.py', CLIP_24, '--config', TINY24], root)
    train = run_tool(['train.py', TINY24], root)
    image = osp.join(root, 'photos', 'street.jpg')
    rng = np.random.default_rng(0)
    mmcv.imwrite(rng.integers(0, 255, (90, 130, 3), np.uint8), image)
    checkpoint = osp.join(work_dir(root, TINY24), 'iter_40.pth')
    return dict(root=root, train=train, checkpoint=checkpoint, image=image)


def test_the_24_block_model_trains_from_its_clip(trained):
    """Its checkpoints hold 24 blocks of patch 14 and the prompts of 23,
    which changed in training; the CLIP's blocks did not."""
    root = trained['root']
    first, last = (
        load_weights_only(osp.join(work_dir(root, TINY24),
                                   f'iter_{n}.pth'))['state_dict']
        for n in (20, 40))
    clip = read_clip_weights(osp.join(root, CLIP_24))
    assert last['backbone.conv1.weight'].shape == (64, 3, 14, 14)
    assert torch.equal(last['backbone.conv1.weight'],
                       clip['visual.conv1.weight'].float())
    assert torch.equal(
        last['backbone.transformer.resblocks.23.mlp.c_fc.bias'],
        clip['visual.transformer.resblocks.23.mlp.c_fc.bias'].float())
    assert last['backbone.deep_prompt_embeddings'].shape == (23, 4, 64)
    assert not torch.equal(first['backbone.deep_prompt_embeddings'],
                           last['backbone.deep_prompt_embeddings'])
    model = init_model(None, trained['checkpoint'], 'cpu')
    assert model.backbone.out_indices == cascade_out_indices(24)
    assert 'mIoU' in trained['train'].stdout


def test_infer_segments_an_image(trained, tmp_path):
    out = tmp_path / 'out'
    result = run_tool([
        'infer.py', trained['image'], '--checkpoint', trained['checkpoint'],
        '--classes', CLASSES, '--templates', 'single', '--out', out
    ], trained['root'])
    assert result.returncode == 0
    mask = Image.open(out / 'street_mask.png')
    assert mask.size == (130, 90)
    assert np.asarray(mask.convert('RGB')).shape == (90, 130, 3)
    assert Image.open(out / 'street_overlay.png').size[1] >= 90
    for name in CLASSES.split(','):
        assert f'{name} ' in result.stdout


def test_the_onnx_export_segments_as_the_model(trained, tmp_path):
    """tools/export_onnx.py writes the folder; its image model gives the
    24-block model's scores of windows, and the torch-free runtime labels
    the image as the PyTorch segmenter does."""
    from test_deploy.deploy_helpers import require_deploy_packages
    require_deploy_packages()

    from cascade_clip.apis.inference import OpenVocabularySegmenter
    from cascade_clip_runtime.manifest import load_manifest
    from cascade_clip_runtime.onnx_backend import OnnxSegmenter
    out = tmp_path / 'onnx'
    run_tool([
        'export_onnx.py', trained['checkpoint'], '--out', out, '--classes',
        CLASSES, '--no-text-encoder'
    ], trained['root'])
    manifest = load_manifest(str(out))
    assert manifest['embed_dims'] == 32
    assert manifest['image']['window'] == [64, 64]
    assert manifest['fixed_classes']['names'] == CLASSES.split(',')
    model = init_model(None, trained['checkpoint'], 'cpu')
    generator = torch.Generator().manual_seed(0)
    windows = torch.randn(2, 3, 64, 64, generator=generator)
    embeddings = F.normalize(torch.randn(5, 32, generator=generator), dim=-1)
    model.set_classes(embeddings)  # all seen: the seen-class shift on all
    shift = model.seen_mask.float() * model.decode_head.seen_score_shift
    runtime = OnnxSegmenter(str(out))
    scores = runtime.backend.run_image_model(windows.numpy(),
                                             embeddings.numpy(), shift.numpy())
    with torch.no_grad():
        expected = model._encode_decode(windows)
    assert scores.shape == (2, 5, 64, 64) == tuple(expected.shape)
    assert np.abs(scores - expected.numpy()).max() <= 1e-4
    names = CLASSES.split(',')
    ours = runtime(trained['image'], names)
    torch_labels = OpenVocabularySegmenter(
        trained['checkpoint'], device='cpu')(trained['image'], names).labels
    assert ours.labels.shape == (90, 130)
    assert (ours.labels == torch_labels).all()


def test_the_web_demo_segments_with_it(trained, tmp_path):
    from cascade_clip.apis.inference import OpenVocabularySegmenter
    from cascade_clip.web import WebDemo
    demo = WebDemo(
        OpenVocabularySegmenter(trained['checkpoint'], device='cpu'),
        str(tmp_path / 'results'))
    output = demo.segment(trained['image'], 'cat, grass, sky')
    assert output.ok, output.message
    labels_png, _ = output.files
    labels = Image.open(labels_png)
    assert labels.mode == 'P' and labels.size == (130, 90)
    assert np.asarray(labels).max() < 3
    assert sorted(row[1] for row in output.table) == ['cat', 'grass', 'sky']


def test_infer_refuses_a_config_of_another_depth(trained, tmp_path):
    """The 24-block checkpoint under the 12-block config: one line naming
    the keys the config's model lacks, no traceback."""
    config = osp.join(REPO, 'configs', 'tiny',
                      'cascade-clip_tiny_1xb2-40_voc20-64x64_inductive.py')
    infer = run_tool([
        'infer.py', trained['image'], '--checkpoint', trained['checkpoint'],
        '--config', config, '--classes', CLASSES, '--out', tmp_path / 'out'
    ],
                     trained['root'],
                     check=False)
    assert infer.returncode == 1
    lines = infer.stderr.splitlines()
    assert len(lines) == 1, infer.stderr
    assert lines[0].startswith('error: the checkpoint does not fit this '
                               'model: 144 unknown keys [\'backbone.'
                               'transformer.resblocks.12.')
