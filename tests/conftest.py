import glob
import os
import os.path as osp
import sys

import pytest

import cascade_clip  # noqa: F401  (registers the modules)
from mmseg.utils import register_all_modules

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(REPO, 'tests'))
register_all_modules(init_default_scope=True)


def golden_dir() -> str:
    """``$CASCADE_GOLDEN_DIR``, by default ``../shared/golden`` beside the
    repository."""
    return os.environ.get('CASCADE_GOLDEN_DIR',
                          osp.join(osp.dirname(REPO), 'shared', 'golden'))


def golden_cases() -> list:
    """Paths of the golden cases without their ``.pt`` suffix."""
    return [p[:-len('.pt')] for p in sorted(glob.glob(osp.join(golden_dir(),
                                                            '*.pt')))]


@pytest.fixture
def golden_case() -> str:
    """The first golden case; fails, naming the folder, if there is none."""
    cases = golden_cases()
    assert cases, (f'no golden cases (*.pt) in {golden_dir()}; set '
                   'CASCADE_GOLDEN_DIR to the folder of the recorded outputs')
    return cases[0]


@pytest.fixture
def repo_root() -> str:
    return REPO
