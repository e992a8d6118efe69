"""cascade_clip.utils.machine: the description every measuring tool
records, and the commit only where the package runs from a checkout."""
import subprocess

import torch
from conftest import REPO

from cascade_clip import __version__
from cascade_clip.utils.machine import (describe_machine, format_machine,
                                        source_commit)


def test_the_description_of_this_machine():
    info = describe_machine('cpu', libraries=('numpy', 'no_such_module'))
    assert info['cpu'] and info['cpu_cores'] >= 1
    assert info['threads'] == torch.get_num_threads()
    assert info['gpu'] is None and info['torch'] == torch.__version__
    assert info['cascade_clip'] == __version__
    assert info['no_such_module'] is None
    line = format_machine(info)
    assert '\n' not in line
    for part in (info['cpu'], f'{info["cpu_cores"]} cores',
                 f'torch {torch.__version__}', 'no_such_module None',
                 f'cascade_clip {__version__}'):
        assert part in line, part


def test_the_commit_of_a_checkout_and_none_elsewhere(tmp_path):
    head = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'],
                          cwd=REPO,
                          capture_output=True,
                          text=True,
                          check=True).stdout.strip()
    assert describe_machine()['commit'] == head == source_commit(REPO)
    # an installed package's folder inside some other checkout (a virtual
    # environment in a repository): not that repository's commit
    outer = tmp_path / 'outer'
    site = outer / 'site-packages'
    site.mkdir(parents=True)
    for command in (['init', '-q'], [
            '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q',
            '--allow-empty', '-m', 'other'
    ]):
        subprocess.run(['git', *command], cwd=outer, check=True)
    assert source_commit(str(site)) is None
    # a checkout whose git fails
    (tmp_path / '.git').write_text('gitdir: /nowhere\n')
    assert source_commit(str(tmp_path)) is None
