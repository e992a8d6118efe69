import glob
import hashlib
import os
import os.path as osp

import pytest
from mmseg.utils import register_all_modules

import cascade_clip  # noqa: F401  (registers the modules)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
register_all_modules(init_default_scope=True)

# Recorded inputs, weights and outputs of the paper's implementation, and its
# resolved recipe (tests/data/golden/README.md).
GOLDEN_DIR = osp.join(REPO, 'tests', 'data', 'golden')


def golden_dirs() -> list:
    """The repository's golden folder, and ``$CASCADE_GOLDEN_DIR`` if set:
    a folder of more cases, which add to the repository's."""
    extra = os.environ.get('CASCADE_GOLDEN_DIR')
    if extra and osp.realpath(extra) != osp.realpath(GOLDEN_DIR):
        return [GOLDEN_DIR, extra]
    return [GOLDEN_DIR]


def _digest(path: str) -> str:
    with open(path, 'rb') as f:
        return hashlib.sha1(f.read()).hexdigest()


def golden_cases() -> list:
    """Paths of the golden cases without their ``.pt`` suffix: the
    repository's, then those of ``$CASCADE_GOLDEN_DIR`` that are not
    copies of them."""
    cases, seen = [], set()
    for folder in golden_dirs():
        for path in sorted(glob.glob(osp.join(folder, '*.pt'))):
            digest = _digest(path)
            if digest not in seen:
                seen.add(digest)
                cases.append(path[:-len('.pt')])
    return cases


@pytest.fixture
def golden_case() -> str:
    """The first golden case; fails, naming the folder, if there is none."""
    cases = golden_cases()
    assert cases, f'no golden cases (*.pt) in {golden_dirs()}'
    return cases[0]


@pytest.fixture
def repo_root() -> str:
    return REPO
