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


@pytest.fixture
def repo_root() -> str:
    return REPO
