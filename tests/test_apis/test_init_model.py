"""init_model, the one way in to a model, and finding the configs through
the package (also once installed)."""
import importlib.util
import os.path as osp
import subprocess
import sys

import pytest
import torch
from conftest import REPO
from mmengine.config import Config

from cascade_clip.apis import init_model
from cascade_clip.config_files import config_path, configs_root

TINY_NAME = 'tiny/cascade-clip_tiny_1xb2-40_voc20-64x64_inductive.py'


def test_configs_are_found_by_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # outside the checkout
    assert configs_root() == osp.join(REPO, 'configs')
    path = osp.join(REPO, 'configs', TINY_NAME)
    assert config_path(TINY_NAME) == path
    assert config_path('configs/' + TINY_NAME) == path
    with pytest.raises(
            FileNotFoundError, match='config file not found: '
            'tiny/nothing.py'):
        config_path('tiny/nothing.py')


def test_random_weights_then_a_checkpoints(tmp_path):
    torch.manual_seed(0)
    model = init_model(TINY_NAME, device='cpu')
    assert not model.training and model.device.type == 'cpu'
    assert model.cfg.model.class_names == 'voc20'
    state = {k: v + 1 for k, v in model.state_dict().items()}
    path = str(tmp_path / 'weights.pth')
    torch.save(
        dict(meta=dict(cfg=model.cfg.pretty_text), state_dict=state), path)
    # the config stored in the checkpoint, as training writes it
    loaded = init_model(None, path, 'cpu')
    for key, value in loaded.state_dict().items():
        assert torch.equal(value, state[key]), key
    with pytest.raises(FileNotFoundError, match='nothing.pth'):
        init_model(TINY_NAME, str(tmp_path / 'nothing.pth'))


def test_cfg_options_reach_the_model():
    model = init_model(
        TINY_NAME,
        device='cpu',
        cfg_options={'model.decode_head.num_layers': 2})
    assert model.decode_head.num_layers == 2
    assert isinstance(model.cfg, Config)


def test_a_built_package_finds_its_own_configs(tmp_path):
    """A built package carries the configs (setup.py's build_py copies
    them), and its config_files finds that copy, not a checkout's."""
    build = tmp_path / 'build'
    subprocess.run([
        sys.executable, 'setup.py', '-q', 'build_py', '--build-lib',
        str(build)
    ],
                   cwd=REPO,
                   check=True,
                   capture_output=True)
    spec = importlib.util.spec_from_file_location(
        'built_config_files', build / 'cascade_clip' / 'config_files.py')
    built = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(built)
    path = built.config_path(TINY_NAME)
    assert path == str(build / 'cascade_clip' / 'configs' / TINY_NAME)
    with open(path) as f, open(osp.join(REPO, 'configs', TINY_NAME)) as g:
        assert f.read() == g.read()
