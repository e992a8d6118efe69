"""A run's config formatted as text once, not on every use.

mmengine's ``Config.pretty_text`` formats the whole config with yapf on
every call, seconds on a CPU (docs/speed.md). A training run calls it at
least six times (the environment log, the config file it dumps, the
visualizer's copy, the runtime-info hook's metadata, and every
checkpoint's ``meta``), most of a short run's time.
:class:`TextCachedConfig` returns the same text, computed again only when
the config's content has changed since.
"""
from mmengine.config import Config

from ..mmengine_private import config_text_key, share_config


class TextCachedConfig(Config):
    """A :class:`~mmengine.config.Config` whose ``pretty_text`` is computed
    once per content (its key: the ``repr`` of the config as plain dicts,
    a millisecond to build) and is otherwise mmengine's own.

    ``copy.deepcopy`` (as ``Runner`` takes its config) keeps the class and
    the cached text.
    """

    @property
    def pretty_text(self) -> str:
        key = config_text_key(self)
        cached = self.__dict__.get('_cached_pretty_text')
        if cached is not None and cached[0] == key:
            return cached[1]
        text = super().pretty_text
        # Config's own __setattr__ writes into the config's content
        object.__setattr__(self, '_cached_pretty_text', (key, text))
        return text


def with_text_cache(cfg: Config) -> TextCachedConfig:
    """``cfg`` as a :class:`TextCachedConfig` sharing its content (not a
    copy: a change to either is a change to both)."""
    if isinstance(cfg, TextCachedConfig):
        return cfg
    return share_config(cfg, TextCachedConfig)
