"""Datasets of a config built outside the runner."""
import copy
from typing import Optional

from mmengine.config import Config

SPLITS = ('val', 'train')


def _find_pipeline(dataset_cfg: dict) -> Optional[list]:
    """The first ``pipeline`` in a (possibly wrapped) dataset config."""
    if dataset_cfg.get('pipeline') is not None:
        return dataset_cfg['pipeline']
    inner = list(dataset_cfg.get('datasets') or [])
    if dataset_cfg.get('dataset') is not None:
        inner.append(dataset_cfg['dataset'])
    for sub in inner:
        found = _find_pipeline(sub)
        if found is not None:
            return found
    return None


def _set_pipeline(dataset_cfg: dict, pipeline: list) -> None:
    """Gives every leaf dataset of a (wrapped) dataset config the
    pipeline: through ``ConcatDataset``'s ``datasets`` and
    ``RepeatDataset``'s ``dataset``."""
    wrapped = list(dataset_cfg.get('datasets') or [])
    if dataset_cfg.get('dataset') is not None:
        wrapped.append(dataset_cfg['dataset'])
    if wrapped:
        for sub in wrapped:
            _set_pipeline(sub, pipeline)
    else:
        dataset_cfg['pipeline'] = copy.deepcopy(pipeline)


def build_split_dataset(cfg: Config, split: str = 'val'):
    """The ``val`` or ``train`` dataset of a config, loaded with the val
    dataloader's (test) pipeline so that images are not augmented.

    Raises:
        ValueError: for another split, or a config without the dataloader.
    """
    from mmseg.registry import DATASETS
    if split not in SPLITS:
        raise ValueError(f'split must be one of {SPLITS}, not {split!r}')
    for key in ('val_dataloader', f'{split}_dataloader'):
        if not cfg.get(key):
            raise ValueError(f'the config has no {key}')
    pipeline = _find_pipeline(cfg.val_dataloader.dataset)
    if pipeline is None:
        raise ValueError('the config\'s val_dataloader.dataset has no '
                         'pipeline to load images with')
    dataset_cfg = copy.deepcopy(cfg[f'{split}_dataloader'].dataset)
    _set_pipeline(dataset_cfg, pipeline)
    return DATASETS.build(dataset_cfg)
