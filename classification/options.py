"""YAML options of the classification commands: loading, ``--set`` overrides and top-level checks."""
import copy
from pathlib import Path

import yaml

from srnas.deprecation import warn_deprecated
from srnas.errors import InputError


class OptionError(InputError):
    """A bad option file or value of the classification commands; the message names the file or key."""


TOP_LEVEL = {
    'search': ('name', 'manual_seed', 'num_gpu', 'threads', 'output_root', 'space', 'data', 'train', 'architect', 'search',
               'benchmark', 'log_every'),
    'train': ('name', 'manual_seed', 'num_gpu', 'threads', 'output_root', 'space', 'data', 'train', 'genotype', 'benchmark',
              'log_every'),
    'eval': ('name', 'manual_seed', 'num_gpu', 'threads', 'output_root', 'space', 'data', 'train', 'genotype', 'benchmark',
             'log_every', 'checkpoint'),
}


# srnas 0.1 spellings -> the convention shared with `srnas` (BasicSR's); the old ones work for one release.
DEPRECATED_KEYS = {'seed': 'manual_seed', 'device': 'num_gpu'}


def _num_gpu(device):
    """``device: cpu | cuda[:i] | auto`` of srnas 0.1 as ``num_gpu`` (0, 1 or auto)."""
    if device in (None, 'auto'):
        return 'auto'
    return 0 if str(device) == 'cpu' else 1


def upgrade_deprecated(opt, source='options'):
    """Rename the deprecated top-level keys of ``opt`` in place, telling the user once."""
    for old, new in DEPRECATED_KEYS.items():
        if old not in opt:
            continue
        if new in opt:
            raise OptionError(f"{source}: both '{old}' (deprecated) and '{new}' are given; keep '{new}'")
        value = opt.pop(old)
        opt[new] = _num_gpu(value) if old == 'device' else value
        warn_deprecated(f"option '{old}'", f"'{new}: {opt[new]}'", source)
    return opt


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
    upgrade_deprecated(opt, str(path))
    allowed = TOP_LEVEL[command]
    unknown = sorted(set(opt) - set(allowed))
    if unknown:
        raise OptionError(f'{path}: unknown top-level key(s) {unknown} for `{command}`; allowed: {list(allowed)}')
    opt.setdefault('name', path.stem)
    opt['_source'] = str(path)
    return opt


def apply_override(opt, item, separator=':'):
    """``a:b:c=value`` (``--force_yml``, as in ``srnas``; ``a.b.c`` with the deprecated ``--set``), the value
    parsed as YAML (``train:epochs=2``, ``data:subset=null``); sections may gain keys their defaults know."""
    key, sep, raw = item.partition('=')
    if not sep or not key:
        raise OptionError(f"--force_yml expects key{separator}path=value, got '{item}'")
    node = opt
    parts = key.split(separator)
    for part in parts[:-1]:
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise OptionError(f"--force_yml {item}: '{part}' is not a mapping")
        node = child
    try:
        node[parts[-1]] = yaml.safe_load(raw)
    except yaml.YAMLError as err:
        raise OptionError(f'--force_yml {item}: value is not valid YAML ({err})') from None


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
