"""YAML options of the classification commands: loading (srnas' reader), overrides and top-level checks."""
import copy
from pathlib import Path

from srnas.deprecation import warn_deprecated
from srnas.errors import InputError
from srnas.utils.options import apply_overrides, read_yaml


class OptionError(InputError):
    """A bad option file or value of the classification commands; the message names the file or key."""


_COMMON_KEYS = ('name', 'manual_seed', 'num_gpu', 'threads', 'output_root', 'space', 'data', 'train', 'benchmark',
                'log_every')
TOP_LEVEL = {'search': _COMMON_KEYS + ('architect', 'search'), 'train': _COMMON_KEYS + ('genotype',),
             'eval': _COMMON_KEYS + ('genotype', 'checkpoint')}


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
    opt = read_yaml(path)  # the srnas reader: same errors, ``base:`` inheritance
    apply_overrides(opt, overrides, add_keys=True)
    upgrade_deprecated(opt, str(path))
    allowed = TOP_LEVEL[command]
    unknown = sorted(set(opt) - set(allowed))
    if unknown:
        raise OptionError(f'{path}: unknown top-level key(s) {unknown} for `{command}`; allowed: {list(allowed)}')
    opt.setdefault('name', path.stem)
    opt['_source'] = str(path)
    return opt


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
