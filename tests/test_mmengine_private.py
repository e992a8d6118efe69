"""cascade_clip.mmengine_private: each use of mmengine's private parts does
what the package relies on with the installed mmengine, and another
mmengine version stops the import with one line."""
import logging
import os.path as osp
import re
import subprocess
import sys
from contextlib import contextmanager

import pytest
from conftest import REPO
from mmengine.config import Config
from mmengine.model import BaseModel

from cascade_clip.mmengine_private import (SUPPORTED_MMENGINE,
                                           EnvironmentLogRunner,
                                           check_mmengine_version,
                                           config_text_key,
                                           printed_lines_dropped, share_config)


def test_the_supported_version_is_the_pinned_one():
    with open(osp.join(REPO, 'requirements.txt')) as f:
        [pin] = re.findall(r'^mmengine==(\S+)', f.read(), re.MULTILINE)
    assert pin in SUPPORTED_MMENGINE
    check_mmengine_version(pin)


def test_another_mmengine_version_is_named_in_one_line():
    with pytest.raises(ImportError) as error:
        check_mmengine_version('0.11.0')
    message = str(error.value)
    assert '\n' not in message
    assert 'mmengine 0.11.0 is installed' in message
    assert f'supports mmengine {", ".join(SUPPORTED_MMENGINE)} only' in (
        message)


def test_importing_the_package_with_another_mmengine_fails_at_once():
    """Before anything of mmseg is imported, with the one line last."""
    code = ('import sys, mmengine; mmengine.__version__ = "0.11.0"\n'
            'try:\n'
            '    import cascade_clip\n'
            'finally:\n'
            '    print("mmseg imported:", "mmseg.models" in sys.modules)')
    result = subprocess.run([sys.executable, '-c', code],
                            capture_output=True,
                            text=True)
    assert result.returncode != 0
    assert result.stdout == 'mmseg imported: False\n'
    assert result.stderr.splitlines()[-1].startswith(
        'ImportError: cascade_clip supports mmengine '), result.stderr


class _Model(BaseModel):

    def forward(self, inputs=None, data_samples=None, mode='tensor'):
        return inputs


@contextmanager
def _recording(logger: logging.Logger, messages: list):
    """Collects what ``logger`` logs inside the block."""

    class Collect(logging.Handler):

        def emit(self, record):
            messages.append(record.getMessage())

    handler = Collect()
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


def test_the_environment_log_runs_inside_its_context(tmp_path):
    inside = []

    class Recording(EnvironmentLogRunner):

        def environment_log(self):
            return _recording(self.logger, inside)

    Recording(
        model=_Model(),
        work_dir=str(tmp_path),
        experiment_name='environment_log',
        default_scope='mmseg')  # the suite's (a runner makes it current)
    assert any('System environment' in m for m in inside), inside


def test_the_config_text_key_follows_content_and_format():
    cfg = Config(dict(a=1, b=dict(c=[1, 2])))
    key = config_text_key(cfg)
    assert config_text_key(Config(dict(a=1, b=dict(c=[1, 2])))) == key
    cfg.b.c.append(3)
    assert config_text_key(cfg) != key
    assert config_text_key(Config(dict(a=1), format_python_code=False)) != (
        config_text_key(Config(dict(a=1))))


def test_a_shared_config_is_the_same_content():

    class Other(Config):
        pass

    cfg = Config(dict(a=1, b=dict(c=2)), cfg_text='a = 1', filename='x.py')
    shared = share_config(cfg, Other)
    assert type(shared) is Other and shared.filename == 'x.py'
    shared.b.c = 3
    assert cfg.b.c == 3
    cfg.d = 4
    assert shared.d == 4 and shared.pretty_text == cfg.pretty_text


def test_printed_lines_are_dropped_by_prefix(capsys):
    with pytest.raises(KeyError):
        with printed_lines_dropped(['Loads checkpoint by ', 'noise']):
            print('kept 1')
            print('Loads checkpoint by local backend from path: x.pth')
            print('  noise, indented')
            print('kept 2')
            raise KeyError('what is printed before an error still shows')
    assert capsys.readouterr().out == 'kept 1\nkept 2\n'
