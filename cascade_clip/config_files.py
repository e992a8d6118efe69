"""Where the project's configs are, so that tools and code find them in a
checkout and in an installed package alike.

A built package (wheel, ``pip install .``) carries a copy of the
repository's ``configs/`` as ``cascade_clip/configs/`` (``setup.py`` copies
it); a checkout or an editable install uses the repository's ``configs/``
beside the package.
"""
import os.path as osp

PACKAGE_DIR = osp.dirname(osp.abspath(__file__))


def configs_root() -> str:
    """The folder holding ``_base_/``, ``voc/``, ``tiny/`` and the other
    config folders.

    Raises:
        FileNotFoundError: neither an installed copy nor a checkout's
            ``configs/`` exists.
    """
    candidates = (osp.join(PACKAGE_DIR, 'configs'),
                  osp.join(osp.dirname(PACKAGE_DIR), 'configs'))
    for root in candidates:
        if osp.isfile(osp.join(root, '_base_', 'default_runtime.py')):
            return root
    raise FileNotFoundError('the cascade_clip configs are not installed; '
                            f'looked in {" and ".join(candidates)}')


def config_path(config: str) -> str:
    """A config file: ``config`` itself when that file exists, else the same
    name inside :func:`configs_root` (with or without a leading
    ``configs/``), e.g.
    ``'voc/cascade-clip_vit-b16_4xb4-20k_voc20-512x512_inductive.py'``.

    Raises:
        FileNotFoundError: the config is in neither place.
    """
    if osp.isfile(config):
        return config
    name = config[len('configs/'):] if config.startswith('configs/') else \
        config
    if not osp.isabs(name):
        try:
            packaged = osp.join(configs_root(), name)
        except FileNotFoundError:
            packaged = None
        if packaged and osp.isfile(packaged):
            return packaged
    raise FileNotFoundError(f'config file not found: {config}')
