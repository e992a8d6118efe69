"""Importing the package changes no global state and prints nothing."""
import subprocess
import sys

# Runs in a fresh interpreter: what cascade_clip's import leaves changed.
CHECK = r'''
import sys
import warnings

import mmengine.logging
import torch
# torch adds its own DTensor types to its safe globals when this module is
# first imported (here by mmengine's code that cascade_clip imports);
# import it first so that only cascade_clip's doing is compared.
import torch.distributed.tensor  # noqa: F401


def state():
    return dict(
        filters=list(warnings.filters),
        print_log=mmengine.logging.print_log,
        safe_globals=list(torch.serialization.get_safe_globals()),
        stdout=sys.stdout,
        path=list(sys.path),
        meta_path=list(sys.meta_path))


before = state()
import cascade_clip  # noqa: E402,F401
after = state()
changed = [key for key in before if before[key] != after[key]]
print('changed:', ','.join(changed))
'''


def test_importing_the_package_changes_no_global_state():
    result = subprocess.run([sys.executable, '-c', CHECK],
                            capture_output=True,
                            text=True,
                            check=True)
    assert result.stdout.splitlines()[-1] == 'changed: ', result.stdout


def test_importing_the_package_prints_nothing():
    """mmseg's 'Could not import OneDL' line and mmcv-lite's warning about
    its compiled ops are held back inside the import."""
    result = subprocess.run([sys.executable, '-c', 'import cascade_clip'],
                            capture_output=True,
                            text=True,
                            check=True)
    assert result.stdout == '' and result.stderr == '', result


# What the import leaves of timm, where it is installed (open_clip brings
# it, and mmseg's TIMMBackbone module imports it): its module, not run yet;
# then its first use runs it, for mmseg as for anyone.
TIMM = r'''
import importlib.util
import sys

import cascade_clip  # noqa: F401

if importlib.util.find_spec('timm') is None:
    print('timm:', 'timm' in sys.modules)
else:
    print('timm:', type(sys.modules['timm']).__name__)
    import timm.layers  # noqa: F401
    print('still:', type(sys.modules['timm']).__name__)
    from mmseg.models.backbones import timm_backbone
    from mmseg.registry import MODELS
    backbone = MODELS.build(
        dict(type='TIMMBackbone', model_name='resnet18', pretrained=False))
    print('used:', type(sys.modules['timm']).__name__,
          timm_backbone.timm is sys.modules['timm'],
          'torch._dynamo' in sys.modules)
'''


def test_timm_is_not_run_by_the_import():
    """timm's import costs 0.75 s and adds a torch safe global (through
    torch._dynamo): it waits for its first use."""
    lines = subprocess.run([sys.executable, '-c', TIMM],
                           capture_output=True,
                           text=True,
                           check=True).stdout.splitlines()
    if lines[0] == 'timm: False':  # not installed: nothing imports it
        return
    assert lines == [
        'timm: _DeferredModule', 'still: _DeferredModule',
        'used: module True True'
    ]
