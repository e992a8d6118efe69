"""The tree is clean under the linters of setup.cfg (flake8, isort, yapf),
the versions the ``tests`` extra pins; .pre-commit-config.yaml runs the
same on every commit."""
import subprocess
import sys

import pytest
from conftest import REPO

PATHS = [
    'cascade_clip', 'cascade_clip_runtime', 'tools', 'tests', 'configs',
    'setup.py'
]
LINTERS = {
    'flake8': ['-m', 'flake8', *PATHS],
    'isort': ['-m', 'isort', '--check-only', '--diff', *PATHS],
    'yapf': ['-m', 'yapf', '--diff', '--recursive', *PATHS],
}


@pytest.mark.parametrize('linter', sorted(LINTERS))
def test_the_tree_is_clean(linter):
    run = subprocess.run([sys.executable, *LINTERS[linter]],
                         cwd=REPO,
                         capture_output=True,
                         text=True)
    assert 'No module named' not in run.stderr, (
        f'{linter} is not installed: pip install -e ".[tests]"')
    # isort names the files it skips as setup.cfg says (the build folder
    # that `pip install ./cascade_clip_runtime` leaves), which is no finding
    found = [
        line for line in run.stdout.splitlines()
        if line.strip() and not line.startswith('Skipped ')
    ]
    assert run.returncode == 0 and not found, (
        f'{linter} finds:\n{run.stdout[-3000:]}{run.stderr[-2000:]}')
