"""Checking ``--cfg-options`` keys against a config before anything is
built, so that a typo (``train_cfg.max_iter``) is named with the closest
existing key instead of failing hundreds of log lines later.

A key may add a setting the config leaves at its default (e.g.
``model.test_cfg.windows_per_batch``), so an unknown key is refused only
where it is surely wrong: the class its settings build (their ``type``)
takes no argument of that name, or it is close to a key that exists.
"""
import copy
import difflib
import inspect
from typing import Iterable, List, Mapping, Optional, Set, Tuple, Union

from mmengine.config import Config
from mmengine.registry import init_default_scope

from .config_files import config_path

_CUTOFF = 0.75


def _registries() -> list:
    import mmseg.registry
    from mmengine.registry import Registry
    return [
        value for value in vars(mmseg.registry).values()
        if isinstance(value, Registry)
    ]


def _resolve(type_name) -> Optional[object]:
    """The class (or function) a ``type`` names in mmseg's registries (and
    their mmengine parents), if exactly one."""
    if not isinstance(type_name, str):
        return type_name if callable(type_name) else None
    found = set()
    for registry in _registries():
        try:
            target = registry.get(type_name)
        except Exception:  # a scope that cannot be imported: not this one
            target = None
        if target is not None:
            found.add(target)
    return found.pop() if len(found) == 1 else None


def accepted_arguments(target) -> Tuple[Set[str], bool]:
    """The keyword arguments a class (through the ``__init__`` methods of
    its bases that ``**kwargs`` passes on to) or a function takes, and
    whether it takes any keyword (a ``**kwargs`` that reaches no fixed
    signature)."""
    functions = ([
        klass.__dict__['__init__'] for klass in target.__mro__
        if '__init__' in klass.__dict__ and klass is not object
    ] if inspect.isclass(target) else [target])
    names: Set[str] = set()
    for function in functions:
        try:
            parameters = inspect.signature(function).parameters.values()
        except (TypeError, ValueError):
            return names, True
        names.update(
            p.name for p in parameters
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))
        if not any(p.kind == p.VAR_KEYWORD for p in parameters):
            return names - {'self'}, False
    return names - {'self'}, True


def _closest(name: str, candidates: Iterable[str]) -> Optional[str]:
    matches = difflib.get_close_matches(
        name, sorted(set(candidates)), n=1, cutoff=_CUTOFF)
    return matches[0] if matches else None


def _problem(content: Mapping, key: str, options: Mapping) -> Optional[str]:
    """Why ``key`` cannot be a setting of a config whose content (as plain
    dicts) is ``content``, or ``None``."""
    parts = key.split('.')
    node = content
    for depth, part in enumerate(parts):
        where = '.'.join(parts[:depth])
        if isinstance(node, (list, tuple)):
            if part.isdigit() and int(part) < len(node):
                node = node[int(part)]
                continue
            return (f'{where} is a list of {len(node)} items; {part!r} is '
                    f'not one of its indices 0..{len(node) - 1}')
        if node is None:
            return None  # a group the config leaves unset: new settings
        if not isinstance(node, Mapping):
            return (f'{where} is a value ({type(node).__name__}), not a '
                    'group of settings')
        if part in node:
            node = node[part]
            continue
        type_name = options.get(f'{where}.type', node.get('type'))
        target = _resolve(type_name) if type_name is not None else None
        prefix = f'{where}.' if where else ''
        if target is not None:
            names, open_ended = accepted_arguments(target)
            if part in names:
                return None
            suggestion = _closest(part, list(node) + sorted(names))
            if not open_ended:
                hint = (f'; did you mean {prefix}{suggestion}?'
                        if suggestion else '')
                return (f'{where or "the config"} builds '
                        f'{getattr(target, "__name__", type_name)}, which '
                        f'takes no {part!r}{hint}')
        else:
            suggestion = _closest(part, node)
        if suggestion:
            return (f'the config has no {key}; did you mean '
                    f'{prefix}{suggestion}?')
        return None
    return None


def check_cfg_options(cfg: Config, options: Optional[Mapping]) -> None:
    """Checks override keys (``{'a.b.c': value}``, as ``--cfg-options``
    gives them) against ``cfg``.

    Raises:
        ValueError: naming the first key that is surely wrong and the
            closest existing key.
    """
    problems: List[str] = []
    content = cfg.to_dict() if options else {}
    for key in options or {}:
        problem = _problem(content, str(key), options)
        if problem:
            problems.append(f'--cfg-options {key}: {problem}')
    if problems:
        raise ValueError(' '.join(problems))


def load_config(config: Union[str, Config],
                cfg_options: Optional[dict] = None) -> Config:
    """A config from a file (a path, or a name inside the project's configs
    folder, see :func:`~cascade_clip.config_files.config_path`) or a copy of
    a ``Config``, with overrides (their keys checked against the config,
    see :func:`~cascade_clip.config_options.check_cfg_options`); its
    registry scope (mmseg's) becomes the
    default, so that its modules can be built outside the runner too."""
    if isinstance(config, Config):
        cfg = copy.deepcopy(config)
    else:
        cfg = Config.fromfile(config_path(config))
    if cfg_options:
        check_cfg_options(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    return cfg
