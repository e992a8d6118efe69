"""The config that this project's training stores in its checkpoints."""
from mmengine.config import Config

from .safe_globals import load_weights_only


def config_from_checkpoint(checkpoint: str) -> Config:
    """The training config stored in a checkpoint written by the runner.

    Raises:
        ValueError: the checkpoint stores none (e.g. one of the paper's);
            then the config file must be given.
    """
    meta = load_weights_only(checkpoint, mmap=True).get('meta') or {}
    text = meta.get('cfg')
    if not isinstance(text, str):
        raise ValueError(f'{checkpoint} stores no config (only checkpoints '
                         'written by this project\'s training do); give the '
                         'config file too (--config)')
    return Config.fromstring(text, file_format='.py')


def run_from_checkpoint(checkpoint: str) -> dict:
    """What a checkpoint written by the runner records of its run: ``seed``
    (the run's random seed), ``iter`` (iterations done) and ``cfg`` (the
    config as text); each ``None`` where the checkpoint has none."""
    meta = load_weights_only(checkpoint, mmap=True).get('meta') or {}
    return {key: meta.get(key) for key in ('seed', 'iter', 'cfg')}
