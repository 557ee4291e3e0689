"""YAML options of the classification commands: loading, ``--set`` overrides and top-level checks."""
import copy
from pathlib import Path

import yaml


class OptionError(ValueError):
    """A bad option file or value; the message names the file or key."""


TOP_LEVEL = {
    'search': ('name', 'seed', 'device', 'threads', 'output_root', 'space', 'data', 'train', 'architect', 'search',
               'benchmark', 'log_every'),
    'train': ('name', 'seed', 'device', 'threads', 'output_root', 'space', 'data', 'train', 'genotype', 'benchmark',
              'log_every'),
    'eval': ('name', 'seed', 'device', 'threads', 'output_root', 'space', 'data', 'train', 'genotype', 'benchmark',
             'log_every', 'checkpoint'),
}


def load_options(path, command, overrides=()):
    path = Path(path)
    if not path.is_file():
        raise OptionError(f'option file {path} does not exist')
    try:
        opt = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise OptionError(f'{path}: not valid YAML ({err})') from None
    if not isinstance(opt, dict):
        raise OptionError(f'{path}: expected a mapping of options at the top level')
    for item in overrides:
        apply_override(opt, item)
    allowed = TOP_LEVEL[command]
    unknown = sorted(set(opt) - set(allowed))
    if unknown:
        raise OptionError(f'{path}: unknown top-level key(s) {unknown} for `{command}`; allowed: {list(allowed)}')
    opt.setdefault('name', path.stem)
    opt['_source'] = str(path)
    return opt


def apply_override(opt, item):
    """``a.b.c=value`` with the value parsed as YAML (``train.epochs=2``, ``data.subset=null``)."""
    key, sep, raw = item.partition('=')
    if not sep or not key:
        raise OptionError(f"--set expects key.path=value, got '{item}'")
    node = opt
    parts = key.split('.')
    for part in parts[:-1]:
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise OptionError(f"--set {item}: '{part}' is not a mapping")
        node = child
    try:
        node[parts[-1]] = yaml.safe_load(raw)
    except yaml.YAMLError as err:
        raise OptionError(f'--set {item}: value is not valid YAML ({err})') from None


def section(opt, name, defaults, where=None):
    """``opt[name]`` merged over ``defaults``; unknown keys are an error naming the section."""
    where = where or name
    given = opt.get(name) or {}
    if not isinstance(given, dict):
        raise OptionError(f'{where} must be a mapping, got {given!r}')
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise OptionError(f'{where}: unknown option(s) {unknown}; allowed: {sorted(defaults)}')
    merged = copy.deepcopy(defaults)
    merged.update(given)
    return merged
