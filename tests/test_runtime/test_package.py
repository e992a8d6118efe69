"""The runtime as a package of its own: the version it installs as is
cascade_clip's, and what it declares it needs is what it imports."""
import ast
import os
import os.path as osp
import re
import sys

from conftest import REPO

import cascade_clip

RUNTIME = osp.join(REPO, 'cascade_clip_runtime')
# import name -> the distribution that provides it
DISTRIBUTIONS = {'PIL': 'pillow'}


def _pyproject() -> str:
    with open(osp.join(RUNTIME, 'pyproject.toml')) as f:
        return f.read()


def test_it_installs_as_cascade_clip_s_version():
    version = re.search(r'^version = "(.+)"$', _pyproject(), re.M).group(1)
    assert version == cascade_clip.__version__


def test_it_declares_what_it_imports():
    declared = re.search(r'^dependencies = \[(.+)\]$', _pyproject(), re.M)
    declared = set(re.findall(r'"([^"]+)"', declared.group(1)))
    imported = set()
    for name in os.listdir(RUNTIME):
        if name.endswith('.py'):
            with open(osp.join(RUNTIME, name)) as f:
                tree = ast.parse(f.read())
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    imported |= {a.name.split('.')[0] for a in node.names}
                elif isinstance(node, ast.ImportFrom) and not node.level:
                    imported.add(node.module.split('.')[0])
    third_party = {
        DISTRIBUTIONS.get(name, name)
        for name in imported - set(sys.stdlib_module_names)
    } - {'cascade_clip_runtime'}
    assert third_party == declared
