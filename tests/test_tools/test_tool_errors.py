"""The tools' own errors, each fed its bad input: one line ``error: ...``
that says what to do, a non-zero exit, no file changed; ``--debug`` (or
``CASCADE_CLIP_DEBUG=1``) shows the traceback."""
import glob
import os.path as osp
import re

import pytest
import torch
from tools_helpers import VOC_INDUCTIVE, make_workspace, run_tools, snapshot

from cascade_clip.apis import test_config as make_test_config
from cascade_clip.apis import train_config
from cascade_clip.testing import save_clip_weights, write_tiny_clip
from cascade_clip.testing.tiny_clip import TINY24_CONFIG
from cascade_clip.utils.cli import parse_eval


def test_missing_config_is_named(tmp_path):
    missing = str(tmp_path / 'nope.py')
    with pytest.raises(
            FileNotFoundError, match='config file not found: .*'
            'nope.py'):
        train_config(missing)


def test_missing_checkpoint_to_evaluate_is_named(tmp_path):
    missing = str(tmp_path / 'iter_80000.pth')
    with pytest.raises(FileNotFoundError, match='iter_80000.pth'):
        make_test_config(VOC_INDUCTIVE, missing)


def test_results_that_exist_are_not_replaced(tmp_path):
    """An evaluation into a folder that holds results (e.g. the training's
    work dir) is refused, unless asked to overwrite."""
    from tools_helpers import write_checkpoint
    checkpoint = write_checkpoint(VOC_INDUCTIVE, str(tmp_path / 'm.pth'))
    results = tmp_path / 'run' / 'zero_shot_metrics.json'
    results.parent.mkdir()
    results.write_text('{"summary": {}}')
    with pytest.raises(
            FileExistsError,
            match=r'zero_shot_metrics\.json '
            'exists already .* --overwrite'):
        make_test_config(VOC_INDUCTIVE, checkpoint, str(results.parent))
    cfg = make_test_config(
        VOC_INDUCTIVE, checkpoint, str(results.parent), overwrite=True)
    assert cfg.work_dir == str(results.parent)
    assert results.read_text() == '{"summary": {}}'
    default = make_test_config(VOC_INDUCTIVE, checkpoint)
    assert default.work_dir == osp.join(
        './work_dirs', 'cascade-clip_tiny_1xb2-40_voc20-64x64_inductive',
        'test_m')


def test_eval_accepts_only_miou():
    parse_eval(['mIoU'])
    parse_eval(None)
    with pytest.raises(ValueError, match='--eval mDice'):
        parse_eval(['mDice'])


# --------------------------------------------------------- one-line errors
def one_error_line(result) -> str:
    """The tool's only line on stderr, which says ``error: ...``."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: '), (
        result.stdout[-2000:] + result.stderr[-4000:])
    return lines[0]


CLIP = osp.join('clip_pretrain', 'tiny-clip.pt')
# a CLIP of 24 blocks of patch 14 (the tiny configs' has 12 of 16), and an
# open_clip ConvNeXt checkpoint (a timm trunk)
CLIP_24 = osp.join('clip_pretrain', 'tiny-clip-24.pt')
CONVNEXT = 'open_clip_pytorch_model.bin'
# name: (tool and arguments, run in the workspace (else in an empty
# folder), environment)
BAD_INPUTS = {
    'typo':
    (['train.py', VOC_INDUCTIVE, '--cfg-options',
      'train_cfg.max_iter=2'], True, None),
    'no_equals':
    (['train.py', VOC_INDUCTIVE, '--cfg-options',
      'train_cfg.max_iters'], True, None),
    'text': (['test.py', VOC_INDUCTIVE, 'notes.txt'], True, None),
    'clip': (['test.py', VOC_INDUCTIVE, CLIP], True, None),
    'benchmark':
    (['benchmark.py', VOC_INDUCTIVE, 'notes.txt', '--device',
      'cpu'], True, None),
    'no_data': (['train.py', VOC_INDUCTIVE], False, None),
    'debug': (['test.py', VOC_INDUCTIVE, 'notes.txt', '--debug'], True, None),
    'other_clip': ([
        'train.py', VOC_INDUCTIVE, '--work-dir', 'other_clip', '--cfg-options',
        f'model.pretrained={CLIP_24}'
    ], True, None),
    'convnext': ([
        'train.py', VOC_INDUCTIVE, '--work-dir', 'convnext', '--cfg-options',
        f'model.pretrained={CONVNEXT}'
    ], True, None),
    'web_threshold': (['web_demo.py', '--threshold', '1.5'], False, None),
    'resume': ([
        'train.py', VOC_INDUCTIVE, '--resume', '--work-dir', 'run',
        '--cfg-options', 'train_cfg.max_iters=2', 'train_cfg.val_interval=10',
        'default_hooks.checkpoint.interval=2'
    ], True, None),
}


@pytest.fixture(scope='module')
def bad_runs(tmp_path_factory):
    """Every run of :data:`BAD_INPUTS` through its tool, all at once, and
    the files of the workspace before them."""
    root = make_workspace(str(tmp_path_factory.mktemp('errors')))
    empty = str(tmp_path_factory.mktemp('empty'))
    with open(osp.join(root, 'notes.txt'), 'w') as f:
        f.write('not a checkpoint\n')
    write_tiny_clip(osp.join(root, CLIP_24), config=TINY24_CONFIG)
    text = {
        k: v
        for k, v in write_tiny_clip(osp.join(root, 'clip.pt')).items()
        if not k.startswith('visual.')
    }
    save_clip_weights(
        dict(text, **{'visual.trunk.stem.0.weight': torch.zeros(8, 3, 4, 4)}),
        osp.join(root, CONVNEXT), 'state_dict')
    before = snapshot(root)
    results = run_tools([(args, root if here else empty) + ((env, ) if env else
                                                            ())
                         for args, here, env in BAD_INPUTS.values()],
                        check=False)
    return root, before, dict(zip(BAD_INPUTS, results))


def test_known_errors_are_one_line_that_says_what_to_do(bad_runs):
    """Bad options, bad files and missing data, each through the real
    tool: one line ``error: ...`` naming the key, file or command, a
    non-zero exit, no traceback and no file changed."""
    root, before, runs = bad_runs
    for name in ('typo', 'text', 'clip', 'no_data', 'benchmark'):
        assert runs[name].returncode == 1, name
    assert runs['no_equals'].returncode == 2
    assert one_error_line(runs['typo']) == (
        'error: --cfg-options train_cfg.max_iter: train_cfg builds '
        'IterBasedTrainLoop, which takes no \'max_iter\'; did you mean '
        'train_cfg.max_iters?')
    assert runs['typo'].stdout == ''  # checked before anything is built
    line = one_error_line(runs['no_equals'])
    assert 'key=value' in line and "'train_cfg.max_iters'" in line
    line = one_error_line(runs['text'])
    assert 'notes.txt is a text file, not a checkpoint' in line
    line = one_error_line(runs['clip'])
    assert f'{CLIP} is a CLIP weight file' in line
    assert 'pretrained=' in line and 'CHECKPOINT takes' in line
    line = one_error_line(runs['benchmark'])
    assert 'notes.txt is a text file, not a checkpoint' in line
    assert runs['web_threshold'].returncode == 1
    assert one_error_line(runs['web_threshold']) == (
        'error: threshold 1.5: give a probability from 0 to 1 (a pixel whose '
        'best class is less likely is unlabelled), or none')
    assert runs['web_threshold'].stdout == ''  # before the model or a port
    for name in ('text', 'clip'):
        assert 'weights_only' not in runs[name].stderr + runs[name].stdout
    line = one_error_line(runs['no_data'])
    assert 'data_root folder not found: data/tiny/VOCdevkit/VOC2012' in line
    assert '`python tools/make_tiny_dataset.py voc20 data/tiny`' in line
    assert 'data/README.md' not in line
    after = snapshot(root)
    # the resumed run's new folder aside, no file changed
    assert {p: after[p] for p in before} == before


def test_a_clip_that_the_config_does_not_fit_stops_before_training(bad_runs):
    """A CLIP of another shape, or an open_clip model outside the ViT
    family: one line naming both shapes, or saying what is supported,
    before the first iteration (no checkpoint written)."""
    root, _, runs = bad_runs
    assert runs['other_clip'].returncode == 1
    assert one_error_line(runs['other_clip']) == (
        f'error: {CLIP_24} holds an image tower (width 64, 24 blocks, patch '
        '14, embed 32), but the config\'s backbone is width 64, 12 blocks, '
        'patch 16, embed 32: point model.pretrained at a CLIP of the '
        'config\'s shape, or use a config made for this CLIP '
        '(clip_pretrain/README.md)')
    assert runs['convnext'].returncode == 1
    assert one_error_line(runs['convnext']) == (
        f'error: {CONVNEXT} holds a timm image tower (visual.trunk.*: '
        'ConvNeXt, SigLIP, EVA, ...), which this project cannot load; '
        'supported: CLIP ViTs laid out as OpenAI\'s (class token, ln_pre, 4x '
        'MLP, projection matrices), e.g. OpenAI\'s ViT-B/32, ViT-B/16, '
        'ViT-L/14 and ViT-L/14@336 archives and open_clip checkpoints of '
        'these models (clip_pretrain/README.md)')
    for name in ('other_clip', 'convnext'):  # 40 iterations would write two
        assert not glob.glob(
            osp.join(root, name, '**', '*.pth'), recursive=True)


def test_debug_shows_the_traceback(bad_runs, monkeypatch):
    debug = bad_runs[2]['debug']
    assert debug.returncode == 1
    assert 'Traceback (most recent call last)' in debug.stderr
    assert 'NotACheckpointError' in debug.stderr
    from cascade_clip.utils.cli import debug_requested
    monkeypatch.delenv('CASCADE_CLIP_DEBUG', raising=False)
    assert not debug_requested([])
    assert debug_requested(['x', '--debug'])
    for value, wanted in (('1', True), ('0', False), ('', False)):
        monkeypatch.setenv('CASCADE_CLIP_DEBUG', value)
        assert debug_requested([]) is wanted


def test_resume_with_an_empty_work_dir_says_so(bad_runs):
    root, _, runs = bad_runs
    result = runs['resume']
    assert result.returncode == 0, result.stderr[-3000:]
    work = osp.join(root, 'run')
    notes = [line for line in result.stdout.splitlines() if '--resume' in line]
    assert len(notes) == 1
    assert notes[0].endswith('--resume: no checkpoint in run to resume '
                             'from; training starts from iteration 0')
    assert 'Auto resumed' not in result.stdout
    assert osp.isfile(osp.join(work, 'iter_2.pth'))


def test_clip_weights_to_start_from_are_refused(bad_runs):
    root = bad_runs[0]
    from cascade_clip.checkpoint import NotACheckpointError
    with pytest.raises(NotACheckpointError) as error:
        train_config(VOC_INDUCTIVE, load_from=osp.join(root, CLIP))
    assert 'is a CLIP weight file' in str(error.value)
    assert '--load-from takes' in str(error.value)


def test_cfg_option_keys_are_checked_against_the_config():
    from cascade_clip.apis import load_config
    cfg = load_config(
        VOC_INDUCTIVE,
        {
            # settings the config leaves at their defaults may be added
            'model.test_cfg.windows_per_batch': 1,
            'test_dataloader.dataset.out_of_range_labels': 'ignore',
            'train_dataloader.dataset.datasets.1.check_files': False,
            'randomness': dict(seed=1),
        })
    assert cfg.model.test_cfg.windows_per_batch == 1
    cases = {
        'model.decode_hed.num_layers': 'did you mean model.decode_head?',
        'model.backbone.widht': 'CLIPVisionTransformer, which takes no '
        "'widht'; did you mean model.backbone.width?",
        'train_dataloader.dataset.datasets.2.data_root':
        'is a list of 2 items',
        'model.test_cfg.strides': 'did you mean model.test_cfg.stride?',
        'optim_wrapper.optimizer.learning_rate': 'AdamW, which takes no',
    }
    for key, message in cases.items():
        with pytest.raises(ValueError, match=re.escape(message)):
            load_config(VOC_INDUCTIVE, {key: 1})
    # a new type's arguments are checked against the new type
    load_config(
        VOC_INDUCTIVE, {
            'optim_wrapper.type': 'AmpOptimWrapper',
            'optim_wrapper.loss_scale': 'dynamic'
        })


def test_no_gpu_error_is_one_line(tmp_path):
    from cascade_clip.utils.cli import error_line
    from cascade_clip.utils.device import NoGPUError, check_device
    if not torch.cuda.is_available():
        with pytest.raises(NoGPUError, match='no CUDA device'):
            check_device('cuda')
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count:
        with pytest.raises(NoGPUError, match=f'there are {count}'):
            check_device(f'cuda:{count}')
    with pytest.raises(ValueError, match='not a device'):
        check_device('gpu')
    assert error_line(KeyError('a "b"\n c')) == 'a "b" c'
    assert error_line(
        FileNotFoundError(
            'class `X` in a/b.py: class `Y` in c.py: missing file')) == (
                'missing file')
