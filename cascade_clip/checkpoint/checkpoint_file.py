"""Saying what a file given as a model checkpoint is when it is not one
(empty, text, CLIP's weights, unreadable), before mmengine loads it and
answers with torch's advice to turn ``weights_only`` off."""
import os.path as osp
import zipfile
from typing import Iterable, Optional

import torch

from .clip_weights import _is_torchscript_archive
from .safe_globals import load_weights_only

WHAT_A_CHECKPOINT_IS = ('the .pth file that tools/train.py writes '
                        '(work_dirs/<config>/iter_N.pth) or one released '
                        'with the paper')


class NotACheckpointError(ValueError):
    """A file given as a model checkpoint that is not one; the message says
    what it is instead."""


def _is_text(head: bytes) -> bool:
    if b'\0' in head:
        return False
    try:
        head.decode('utf-8')
    except UnicodeDecodeError as err:
        # a multi-byte character cut at the end of the block is still text
        return err.start >= len(head) - 3
    return True


def _is_clip_state_dict(keys: Iterable[str]) -> bool:
    keys = set(keys)
    return 'token_embedding.weight' in keys or any(
        key.startswith('visual.transformer.') for key in keys)


def _clip_error(path: str, kind: str, option: str) -> NotACheckpointError:
    return NotACheckpointError(
        f'{path} is a CLIP weight file ({kind}), not a model checkpoint: '
        'CLIP weights belong in the config\'s `pretrained=` '
        '(model.pretrained, read when training starts); '
        f'{option} takes a model checkpoint: {WHAT_A_CHECKPOINT_IS}')


def _short_reason(error: BaseException) -> str:
    """The first line of a loading error, without torch's advice about
    ``weights_only``."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    for line in lines:
        if line.startswith('WeightsUnpickler error:'):
            return line
    first = lines[0] if lines else ''
    if 'weights_only' in first or '_use_new_zipfile' in first:
        first = 'it holds objects other than tensors and plain data'
    return f'{type(error).__name__}: {first}' if first else \
        type(error).__name__


def check_checkpoint_file(path: str, option: str = 'the checkpoint') -> None:
    """Checks that a local file is a model checkpoint this project can load
    (with ``weights_only=True``); remote paths (``s3://``) are left to the
    loader.

    Args:
        path: The file.
        option: How the person gave it (``'--checkpoint'``,
            ``'--load-from'``), for the message.

    Raises:
        FileNotFoundError: there is no such file.
        NotACheckpointError: the file is empty, text, a CLIP weight file
            (OpenAI's TorchScript ``.pt``, a CLIP state dict or
            ``.safetensors``), not loadable or not a dict of weights.
    """
    if '://' in path:
        return
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint not found: {path}')
    if osp.getsize(path) == 0:
        raise NotACheckpointError(
            f'{path} is empty (0 bytes), not a checkpoint (a copy or '
            f'download that did not finish?); {option} takes '
            f'{WHAT_A_CHECKPOINT_IS}')
    with open(path, 'rb') as f:
        head = f.read(4096)
    if _is_text(head):
        raise NotACheckpointError(
            f'{path} is a text file, not a checkpoint; {option} takes '
            f'{WHAT_A_CHECKPOINT_IS}')
    if path.endswith('.safetensors'):
        from safetensors import safe_open
        try:
            with safe_open(path, framework='pt') as weights:
                keys = list(weights.keys())
        except Exception as err:  # safetensors has its own error types
            raise NotACheckpointError(
                f'{path} cannot be read as .safetensors '
                f'({_short_reason(err)}); {option} takes '
                f'{WHAT_A_CHECKPOINT_IS}') from err
        if _is_clip_state_dict(keys):
            raise _clip_error(path, '.safetensors', option)
        return
    is_zip = zipfile.is_zipfile(path)
    if is_zip and _is_torchscript_archive(path):
        raise _clip_error(
            path, 'a TorchScript archive like OpenAI\'s '
            'ViT-B-16.pt', option)
    try:
        loaded = load_weights_only(path, mmap=is_zip)
    except Exception as err:  # pickle, zip and torch errors alike
        raise NotACheckpointError(
            f'{path} cannot be loaded as a checkpoint ({_short_reason(err)});'
            f' {option} takes {WHAT_A_CHECKPOINT_IS}') from err
    state = loaded.get('state_dict', loaded) if isinstance(loaded,
                                                           dict) else None
    if not isinstance(state, dict) or not all(
            isinstance(v, torch.Tensor) for v in state.values()):
        raise NotACheckpointError(
            f'{path} holds a {type(loaded).__name__}, not the weights of a '
            f'model; {option} takes {WHAT_A_CHECKPOINT_IS}')
    if _is_clip_state_dict(state):
        raise _clip_error(path, 'a state dict of CLIP', option)


def resume_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint ``--resume`` continues from (the one mmengine's
    ``last_checkpoint`` file in ``work_dir`` names), or ``None`` when the
    work dir has none.

    Raises:
        FileNotFoundError: ``last_checkpoint`` names a file that is gone.
    """
    pointer = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(pointer):
        return None
    with open(pointer) as f:
        last = f.read().strip()
    if last and not osp.isfile(last):
        raise FileNotFoundError(
            f'--resume: {pointer} names {last}, which does not exist; remove '
            f'{pointer} to start from scratch, or put the checkpoint back')
    return last or None
