"""The runtime (``cascade_clip_runtime``) with a tiny model of this project,
exported by :func:`~cascade_clip.deploy.export.export_onnx`: in a Python
that cannot import torch it labels images as tools/infer.py does, copied
out of the repository or installed alone; and what a person gets wrong
ends it with one line."""
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from deploy_helpers import (RUNTIME, TIE_MARGIN, assert_same_pictures,
                            copy_runtime, error_line, require_deploy_packages,
                            run_runtime, run_torch_free, shares_lines,
                            torch_free_env, write_images)
from mmengine.config import Config
from mmseg.registry import MODELS
from PIL import Image
from tools_helpers import VOC_INDUCTIVE, run_tool

from cascade_clip.apis.inference import OpenVocabularySegmenter
from cascade_clip.deploy.export import export_onnx
from cascade_clip.models.text_embeddings import encode_class_names
from cascade_clip.testing import write_tiny_clip

require_deploy_packages()
import onnx  # noqa: E402
from onnx import TensorProto, helper  # noqa: E402

from cascade_clip_runtime.manifest import MANIFEST  # noqa: E402
from cascade_clip_runtime.onnx_backend import OnnxSegmenter  # noqa: E402

FIXED = ['aeroplane', 'bicycle', 'bird', 'boat']
CLASSES = 'cat,grass,sky,road,tree'


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    """A tiny model saved as training saves it (config in ``meta``),
    exported with the embeddings of a fixed class list, and images."""
    root = tmp_path_factory.mktemp('onnx_runtime')
    cfg = Config.fromfile(VOC_INDUCTIVE)
    cfg.model.pretrained = str(root / 'clip.pt')
    write_tiny_clip(cfg.model.pretrained)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    checkpoint = str(root / 'model.pth')
    torch.save(
        dict(meta=dict(cfg=cfg.pretty_text), state_dict=model.state_dict()),
        checkpoint)
    out = str(root / 'onnx')
    start = time.perf_counter()
    result = export_onnx(None, checkpoint, out, classes=FIXED)
    print(f'tiny export: {time.perf_counter() - start:.1f} s '
          f'({result.seconds})')
    images = osp.join(root, 'images')
    write_images(images, [(120, 200), (90, 61), (64, 64), (300, 97)])
    return dict(
        root=str(root),
        checkpoint=checkpoint,
        out=out,
        images=images,
        env=torch_free_env(str(root / 'blocker')))


def test_without_torch_it_labels_images_as_tools_infer(workspace):
    """The runtime's folder copied out alone and run where importing torch
    fails (checked: the same environment cannot import it) gives
    tools/infer.py's labels, shares and pictures."""
    root, env = workspace['root'], workspace['env']
    probe = subprocess.run([sys.executable, '-c', 'import torch'],
                           env=env,
                           capture_output=True,
                           text=True)
    assert probe.returncode != 0
    assert 'ImportError: torch cannot be imported here' in probe.stderr
    expected = run_tool([
        'infer.py', workspace['images'], '--checkpoint',
        workspace['checkpoint'], '--classes', CLASSES, '--out',
        osp.join(root, 'torch_out'), '--device', 'cpu'
    ], root).stdout
    copied = copy_runtime(osp.join(root, 'copied'))
    result = run_runtime(copied, [
        workspace['images'], '--model', workspace['out'], '--classes', CLASSES,
        '--out',
        osp.join(root, 'onnx_out')
    ], env)
    assert len(shares_lines(result.stdout)) == 4
    assert shares_lines(result.stdout) == shares_lines(expected)
    images = sorted(
        osp.join(workspace['images'], name)
        for name in os.listdir(workspace['images']))
    differing = assert_same_pictures(images, CLASSES.split(','),
                                     osp.join(root, 'onnx_out'),
                                     osp.join(root, 'torch_out'),
                                     workspace['checkpoint'])
    print(f'pixels labelled differently (ties): {differing}')


def test_installed_alone_it_runs_without_torch(workspace, tmp_path):
    """``pip install ./cascade_clip_runtime`` (here into a folder of its own,
    its dependencies the test's) and ``python -m cascade_clip_runtime``
    from elsewhere, without torch; the installed command too."""
    image = osp.join(workspace['images'], 'image0.png')
    source = str(tmp_path / 'source')
    shutil.copytree(RUNTIME, source)  # a build writes beside the sources
    target = str(tmp_path / 'installed')
    subprocess.run([
        sys.executable, '-m', 'pip', 'install', '--no-deps',
        '--no-build-isolation', '--no-index', '--target', target, source
    ],
                   check=True,
                   capture_output=True)
    env = torch_free_env(str(tmp_path / 'blocker'), [target])
    elsewhere = str(tmp_path / 'elsewhere')
    os.makedirs(elsewhere)
    where = run_torch_free(
        ['-c', 'import cascade_clip_runtime as r; print(r.__file__)'],
        elsewhere, env)
    assert where.stdout.startswith(target)
    result = run_torch_free([
        '-m', 'cascade_clip_runtime', image, '--model', workspace['out'],
        '--classes', ','.join(FIXED), '--out',
        str(tmp_path / 'out')
    ], elsewhere, env)
    assert result.stdout.startswith(f'{image}: aeroplane ')
    assert osp.isfile(tmp_path / 'out' / 'image0_overlay.png')
    command = osp.join(target, 'bin', 'cascade-clip-runtime')
    assert osp.isfile(command)


def test_a_fixed_class_list_needs_no_text_encoder(workspace, tmp_path):
    folder = str(tmp_path / 'fixed_only')
    shutil.copytree(workspace['out'], folder)
    manifest_path = osp.join(folder, MANIFEST)
    with open(manifest_path) as f:
        manifest = json.load(f)
    manifest['files']['text_encoder'] = None
    with open(manifest_path, 'w') as f:
        json.dump(manifest, f)
    os.remove(osp.join(folder, 'text_encoder.onnx'))
    segmenter = OnnxSegmenter(folder)
    assert segmenter.fixed_class_names == FIXED
    image = osp.join(workspace['images'], 'image1.jpg')
    fixed = segmenter(image, FIXED)
    with_encoder = OnnxSegmenter(workspace['out'])
    loaded = []
    backend = with_encoder.backend
    load = backend._text_session
    backend._text_session = lambda: loaded.append(1) or load()
    assert (fixed.labels == with_encoder(image, FIXED).labels).all()
    assert loaded == []  # the stored embeddings served
    with_encoder(image, FIXED[:3])
    assert loaded == [1]
    result = run_runtime(
        copy_runtime(str(tmp_path / 'copied')), [
            image, '--model', folder, '--classes', 'cat,dog', '--out',
            str(tmp_path / 'out')
        ],
        workspace['env'],
        check=False)
    assert 'has no text encoder' in error_line(result)
    assert "'aeroplane', 'bicycle', 'bird', 'boat'" in result.stderr


def test_class_embeddings_are_the_text_encoder_s(workspace):
    """Twenty class prompts in the 15 templates, against the PyTorch
    model's embeddings (cosine >= 0.99999)."""
    names = [
        'cat', 'dog', 'grass', 'sky', 'road', 'traffic light', 'person',
        'tree', 'building', 'water', 'Ünïcödé café', 'sea-gull', 'car', 'bus',
        'chair', 'table', 'snow', 'mountain', 'floor', 'wall'
    ]
    segmenter = OnnxSegmenter(workspace['out'])
    ours = segmenter.class_embeddings(names, 'multi')
    torch_model = OpenVocabularySegmenter(
        workspace['checkpoint'], device='cpu').model
    expected = encode_class_names(torch_model.text_encoder, names,
                                  'multi').numpy()
    assert ours.shape == expected.shape == (20, 32)
    assert (ours * expected).sum(-1).min() >= 0.99999


def test_arrays_windows_and_unseen_classes(workspace):
    segmenter = OnnxSegmenter(workspace['out'])
    path = osp.join(workspace['images'], 'image3.jpg')
    names = CLASSES.split(',')
    from_file = segmenter(path, names)
    image = np.asarray(Image.open(path).convert('RGB'))
    assert (segmenter(image, names).labels == from_file.labels).all()
    all_at_once = OnnxSegmenter(workspace['out'], windows_per_batch=None)
    assert (all_at_once(image, names).labels == from_file.labels).all()
    assert sum(from_file.shares.values()) == pytest.approx(1.0)
    shift = segmenter.score_shift(names, unseen=['sky'])
    assert shift.tolist() == pytest.approx([0.1, 0.1, 0.0, 0.1, 0.1])
    # the tiny model was trained (as configured) on VOC's first 15 classes
    assert segmenter.model_unseen(['cat', 'sheep',
                                   'grass']) == ['sheep', 'grass']


def _replace(folder: str, name: str, content) -> None:
    path = osp.join(folder, name)
    if isinstance(content, bytes):
        with open(path, 'wb') as f:
            f.write(content)
    else:
        onnx.save(content, path)


def _identity_model() -> onnx.ModelProto:
    """A small valid ONNX file that is not one of ours."""
    graph = helper.make_graph(
        [helper.make_node('Identity', ['x'], ['y'])], 'other',
        [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor_value_info('y', TensorProto.FLOAT, [1, 3])])
    return helper.make_model(graph)


def _edit_manifest(folder: str, edit) -> None:
    path = osp.join(folder, MANIFEST)
    with open(path) as f:
        manifest = json.load(f)
    edit(manifest)
    with open(path, 'w') as f:
        json.dump(manifest, f)


BAD_INPUTS = {
    'onnx file not ours':
    (lambda d: _replace(d, 'image_model.onnx', _identity_model()), CLASSES,
     'image_model.onnx is not the image model of a cascade_clip '
     'export'),
    'not an onnx file':
    (lambda d: _replace(d, 'image_model.onnx', b'not a model'), CLASSES,
     'image_model.onnx is not an ONNX model onnxruntime can '
     'load'),
    'text encoder not ours':
    (lambda d: _replace(d, 'text_encoder.onnx', _identity_model()), CLASSES,
     'text_encoder.onnx is not the text encoder of a '
     'cascade_clip export'),
    'manifest of another window':
    (lambda d: _edit_manifest(d, lambda m: m['image'].update(window=[96, 96])),
     CLASSES, 'takes window of shape [None, 3, 64, 64], but manifest.json '
     'describes [None, 3, 96, 96]'),
    'manifest of other embeddings':
    (lambda d: _edit_manifest(d, lambda m: m.update(embed_dims=512)), CLASSES,
     'takes class_embeddings of shape [None, 32], but '
     'manifest.json describes [None, 512]'),
    'manifest of another export':
    (lambda d: _edit_manifest(d, lambda m: m.update(export_id='0' * 32)),
     CLASSES, 'image_model.onnx comes from another export than '
     'manifest.json'),
    'manifest not json': (lambda d: _replace(d, MANIFEST, b'{"format": '),
                          CLASSES, 'manifest.json is not valid JSON'),
    'manifest of something else':
    (lambda d: _replace(d, MANIFEST, b'{"format": "other"}'), CLASSES,
     'manifest.json is not the manifest of a cascade_clip ONNX export'),
    'no manifest': (lambda d: os.remove(osp.join(d, MANIFEST)), CLASSES,
                    'has no manifest.json: it is not a folder written by '
                    'tools/export_onnx.py'),
    'class name over the context length': (lambda d: None,
                                           'cat,' + 'very ' * 80 + 'long name',
                                           "class name 'very very"),
    'one class': (lambda d: None, 'cat', "one class ('cat')"),
}


@pytest.mark.parametrize('case', list(BAD_INPUTS))
def test_bad_input_is_one_line(workspace, tmp_path, case):
    damage, classes, message = BAD_INPUTS[case]
    folder = str(tmp_path / 'model')
    shutil.copytree(workspace['out'], folder)
    damage(folder)
    image = osp.join(workspace['images'], 'image0.png')
    result = run_runtime(
        copy_runtime(str(tmp_path / 'copied')), [
            image, '--model', folder, '--classes', classes, '--out',
            str(tmp_path / 'out')
        ],
        workspace['env'],
        check=False)
    assert message in error_line(result)
    assert not osp.exists(tmp_path / 'out')


def test_unreadable_images_are_named(workspace, tmp_path):
    broken = tmp_path / 'images' / 'broken.jpg'
    broken.parent.mkdir()
    broken.write_bytes(b'\xff\xd8 not really a jpeg')
    copied = copy_runtime(str(tmp_path / 'copied'))

    def segment(path):
        return run_runtime(
            copied, [
                str(path), '--model', workspace['out'], '--classes', CLASSES,
                '--out',
                str(tmp_path / 'out')
            ],
            workspace['env'],
            check=False)

    assert error_line(segment(broken)) == (
        f'error: cannot read image {broken}: not an image file')
    shutil.copy(osp.join(workspace['images'], 'image2.png'), broken.parent)
    result = segment(broken.parent)
    assert result.returncode == 1
    assert f'skipped: cannot read image {broken}' in result.stderr
    assert osp.isfile(tmp_path / 'out' / 'image2_mask.png')
    again = segment(broken.parent)
    assert 'already: pass --overwrite' in error_line(again)


def test_benchmark_engines_run_in_processes_of_their_own(workspace, tmp_path):
    """tools/benchmark_onnx.py's engines (its export aside): PyTorch's
    segmenter and the runtime, each in its own process, the runtime's
    unable to import torch; the same labels, a table of them."""
    from cascade_clip.analysis.onnx_benchmark import (Worker,
                                                      format_onnx_benchmark,
                                                      pytorch_score_gap)
    common = dict(
        threads=1,
        image=osp.join(workspace['images'], 'image3.jpg'),
        classes=CLASSES.split(','),
        templates='single')
    workers = []
    try:
        workers.append(
            Worker(
                'pytorch',
                dict(
                    common,
                    engine='pytorch',
                    checkpoint=workspace['checkpoint'],
                    out=str(tmp_path / 'pytorch')),
                dict(os.environ, OMP_NUM_THREADS='1')))
        workers.append(
            Worker(
                'onnxruntime',
                dict(
                    common,
                    engine='onnxruntime',
                    model_dir=workspace['out'],
                    out=str(tmp_path / 'onnxruntime')), workspace['env']))
        for worker in workers:
            worker.run(timed=False)
            worker.run()
        ends = [worker.quit() for worker in workers]
    finally:
        for worker in workers:
            worker.kill()
    assert [end['imported_torch'] for end in ends] == [True, False]
    assert all(end['peak_rss_mib'] > 0 for end in ends)
    labels, ours = (
        np.load(str(tmp_path / name) + '_labels.npy')
        for name in ('pytorch', 'onnxruntime'))
    gap = pytorch_score_gap(
        workspace['checkpoint'], common['image'],
        np.load(str(tmp_path / 'pytorch') + '_embeddings.npy'), labels)
    assert gap.shape == labels.shape and (gap >= 0).all()
    assert (gap[labels != ours] <= TIE_MARGIN).all()
    engine = dict(
        load_s=workers[1].load_s,
        first_image_s=workers[1].first_s,
        seconds=workers[1].times,
        peak_rss_mib=ends[1]['peak_rss_mib'],
        labels_identical=1.0,
        labels_differing=0,
        embedding_cosine_min=1.0)
    table = format_onnx_benchmark(
        dict(
            machine=dict(
                cpu='cpu',
                cpu_cores=2,
                threads=1,
                torch='t',
                onnxruntime='o',
                onnx='x',
                commit='c'),
            load_average=dict(before=None, after=None),
            setting=dict(
                image_size=[300, 97], classes=5, templates='single', rounds=1),
            export={'image_model.onnx': dict(seconds=1.0, mib=4.2)},
            agreement=dict(
                window_scores_max_abs_diff={'image_model.onnx': 6e-8}),
            engines=dict(
                pytorch=dict(engine, seconds=workers[0].times),
                onnxruntime=engine)))
    assert '| onnxruntime | ' in table and '100.000% |' in table


def test_the_seen_class_shift_goes_through_the_exported_model(workspace):
    """An inductive model (seen-class shift 0.1) exported: with 'sky' unseen
    the image model's scores are the segmentor's, ``sigmoid - 0.1`` on the
    seen classes only (a sign flipped in the export fails here)."""
    from cascade_clip.apis import init_model
    segmenter = OnnxSegmenter(workspace['out'])
    backend = segmenter.backend
    names = CLASSES.split(',')
    embeddings = backend.class_embeddings(names, 'multi')
    shift = backend.score_shift(names, unseen=['sky'])
    assert shift.tolist() == pytest.approx([0.1, 0.1, 0.0, 0.1, 0.1])
    window = np.random.default_rng(0).standard_normal(
        (1, 3, *backend.crop)).astype(np.float32)
    shifted = backend.run_image_model(window, embeddings, shift)
    plain = backend.run_image_model(window, embeddings, np.zeros(5))
    np.testing.assert_allclose(
        plain - shifted,
        np.broadcast_to(shift[None, :, None, None], plain.shape),
        atol=1e-6)
    model = init_model(None, workspace['checkpoint'], 'cpu')
    model.set_classes(torch.from_numpy(embeddings), unseen_classes=[2])
    with torch.no_grad():
        expected = model.encode_decode(torch.from_numpy(window)).numpy()
    np.testing.assert_allclose(shifted, expected, atol=1e-5)
