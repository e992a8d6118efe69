"""The config that this project's training stores in its checkpoints."""
import torch
from mmengine.config import Config


def config_from_checkpoint(checkpoint: str) -> Config:
    """The training config stored in a checkpoint written by the runner.

    Raises:
        ValueError: the checkpoint stores none (e.g. one of the paper's);
            then the config file must be given.
    """
    meta = torch.load(
        checkpoint, map_location='cpu', weights_only=True,
        mmap=True).get('meta') or {}
    text = meta.get('cfg')
    if not isinstance(text, str):
        raise ValueError(f'{checkpoint} stores no config (only checkpoints '
                         'written by this project\'s training do); give the '
                         'config file too (--config)')
    return Config.fromstring(text, file_format='.py')
