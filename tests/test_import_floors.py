"""The package's folders stand on floors, and an import only goes down.

Floors: data types, class lists and palettes at the bottom, with the one
door to mmengine's private parts; checkpoints, command-line helpers and
drawing above them; models; datasets and metrics; the training engine;
entry points and test data; the users of all of it (the shapes world,
deployment); and on top, experiments (which run the shapes world's
ablation too) and measuring (which measures deployment too).
No folder imports one on its own floor or above, so no two folders import
each other and there is no loop. Every import in the package is read from
its source (also those inside functions).
"""
import ast
import os
import os.path as osp
import sys

import pytest
from conftest import REPO

PACKAGE = osp.join(REPO, 'cascade_clip')
FLOORS = {
    'structures': 0,
    'config_files': 0,
    'mmengine_private': 0,
    'version': 0,
    'checkpoint': 1,
    'utils': 1,
    'visualization': 1,
    'config_options': 1,
    'models': 2,
    'datasets': 3,
    'evaluation': 3,
    'engine': 4,
    'apis': 5,
    'testing': 5,
    'analysis': 7,
    'experiments': 7,
    'synthetic': 6,
    'deploy': 6,
    'web': 7,
}
RUNTIME = osp.join(REPO, 'cascade_clip_runtime')
# What the runtime runs without (docs/deployment.md): it sits below every
# floor of the package, which builds on it.
NOT_IN_RUNTIME = ('cascade_clip', 'torch', 'torchvision', 'mmengine', 'mmseg',
                  'mmcv', 'cv2', 'matplotlib')


def imported_modules(path: str, module: str) -> list:
    """``(line, absolute module)`` of every import in a source file."""
    parts = module.split('.')
    package = parts if path.endswith('__init__.py') else parts[:-1]
    found = []
    for node in ast.walk(ast.parse(open(path).read())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                target = '.'.join(base +
                                  ([node.module] if node.module else []))
            else:
                target = node.module or ''
            found.append((node.lineno, target))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
    return found


def folder_edges() -> list:
    """``(from folder, to folder, file:line)`` of every import between two
    folders (or top-level modules) of the package."""
    edges = []
    for folder, _, names in os.walk(PACKAGE):
        for name in names:
            if not name.endswith('.py'):
                continue
            path = osp.join(folder, name)
            relative = osp.relpath(path, REPO)[:-len('.py')]
            module = relative.replace(os.sep, '.')
            if module.endswith('.__init__'):
                module = module[:-len('.__init__')]
            source = module.split('.')
            if len(source) < 2 or source[1] == 'configs':
                continue  # the package's __init__ registers everything
            for line, target in imported_modules(path, module):
                target = target.split('.')
                if target[0] != 'cascade_clip' or len(target) < 2:
                    continue
                if target[1] != source[1]:
                    edges.append(
                        (source[1], target[1], f'{relative}.py:{line}'))
    return edges


def test_the_runtime_imports_nothing_of_the_package_or_torch():
    """Every import of ``cascade_clip_runtime`` (inside functions too) is of
    the standard library, numpy, Pillow, ftfy, regex, onnxruntime or the
    runtime itself; ``cascade_clip`` imports it, never the reverse."""
    found = []
    for name in sorted(os.listdir(RUNTIME)):
        if not name.endswith('.py'):
            continue
        module = 'cascade_clip_runtime' + ('' if name == '__init__.py' else
                                           '.' + name[:-3])
        for line, target in imported_modules(osp.join(RUNTIME, name), module):
            found.append(target)
            if target.split('.')[0] in NOT_IN_RUNTIME:
                pytest.fail(f'cascade_clip_runtime/{name}:{line} imports '
                            f'{target}')
    assert 'cascade_clip_runtime.segmenter' in found  # the reading works
    third_party = {
        t.split('.')[0]
        for t in found if t.split('.')[0] not in sys.stdlib_module_names
    }
    assert third_party == {
        'cascade_clip_runtime', 'numpy', 'PIL', 'ftfy', 'regex', 'onnxruntime'
    }


def test_every_folder_has_a_floor():
    folders = {
        name[:-3] if name.endswith('.py') else name
        for name in os.listdir(PACKAGE)
        if not name.startswith(('_', '.')) and name != 'configs' and (
            name.endswith('.py') or osp.isdir(osp.join(PACKAGE, name)))
    }
    assert folders - set(FLOORS) == set(), 'give the new folder a floor'


def test_imports_only_go_down():
    edges = folder_edges()
    assert len(edges) > 30  # the reading works
    upward = [
        f'{where}: {source} (floor {FLOORS[source]}) imports {target} '
        f'(floor {FLOORS[target]})' for source, target, where in edges
        if FLOORS[target] >= FLOORS[source]
    ]
    assert not upward, '\n'.join(upward)


@pytest.mark.parametrize('source,target,expected', [
    ('cascade_clip/structures/x.py', 'from ..synthetic import world',
     'synthetic'),
    ('cascade_clip/models/a/b.py', 'from ...checkpoint import y',
     'checkpoint'),
    ('cascade_clip/engine/__init__.py', 'from .hooks import z', 'engine'),
])
def test_relative_imports_are_resolved(tmp_path, source, target, expected):
    path = tmp_path / 'm.py'
    path.write_text(target + '\n')
    module = source[:-len('.py')].replace('/', '.')
    if module.endswith('.__init__'):
        module = module[:-len('.__init__')]
        path = tmp_path / '__init__.py'
        path.write_text(target + '\n')
    [(_, found)] = imported_modules(str(path), module)
    assert found.split('.')[1] == expected
