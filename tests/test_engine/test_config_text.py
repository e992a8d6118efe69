"""A run formats its config as text once (mmengine's ``pretty_text`` runs
yapf, seconds, on every call), and the text is mmengine's own."""
import copy
import os.path as osp

import torch
from mmengine.config import Config
from tools_helpers import VOC_INDUCTIVE, make_workspace

from cascade_clip.apis import train_config
from cascade_clip.engine.config_text import TextCachedConfig, with_text_cache
from cascade_clip.engine.experiment import run_train


def counting_format_code(monkeypatch) -> list:
    """Counts the calls of yapf's ``FormatCode`` by mmengine's Config."""
    import mmengine.config.config as config_module
    calls = []
    real = config_module.FormatCode

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(config_module, 'FormatCode', counted)
    return calls


def test_the_text_is_mmengines_and_follows_changes(monkeypatch):
    plain = Config.fromfile(VOC_INDUCTIVE)
    cached = with_text_cache(plain)
    assert isinstance(cached, TextCachedConfig)
    calls = counting_format_code(monkeypatch)
    text = cached.pretty_text
    assert cached.pretty_text == text and len(calls) == 1
    assert plain.pretty_text == text and len(calls) == 2  # mmengine's own
    # the same content: a deep copy keeps the class and the text
    copied = copy.deepcopy(cached)
    assert type(copied) is TextCachedConfig
    assert copied.pretty_text == text and len(calls) == 2
    # a change (here through the shared content) is formatted anew
    plain.train_cfg.max_iters = 7
    changed = cached.pretty_text
    assert len(calls) == 3 and 'max_iters=7' in changed
    assert changed == plain.pretty_text
    assert copied.pretty_text == text  # the copy did not change


def test_a_training_run_formats_its_config_once(tmp_path, monkeypatch):
    root = make_workspace(str(tmp_path))
    monkeypatch.chdir(root)
    cfg = train_config(
        VOC_INDUCTIVE,
        work_dir=osp.join(root, 'run'),
        cfg_options={
            'train_cfg.max_iters': 2,
            'default_hooks.checkpoint.interval': 1,
            'val_cfg': None,
            'val_dataloader': None,
            'val_evaluator': None
        })
    reference = Config(copy.deepcopy(cfg.to_dict()))
    calls = counting_format_code(monkeypatch)
    run_train(cfg)
    # the logs, the dumped config, the visualizer, the runtime metadata
    # and two checkpoints: formatted once (mmengine: at least 6 times)
    assert len(calls) == 1
    for iteration in (1, 2):
        meta = torch.load(
            osp.join(root, 'run', f'iter_{iteration}.pth'),
            weights_only=True)['meta']
        assert meta['cfg'] == reference.pretty_text
