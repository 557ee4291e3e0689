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
    check_top_level_types(opt, path)
    opt['_source'] = str(path)
    return opt


# Top-level values and what they must be: (accepts, description); the sections are checked where read.
_TEXT = (lambda v: isinstance(v, str) and v.strip() != '', 'text')
_OPTIONAL_TEXT = (lambda v: v is None or _TEXT[0](v), 'text or null')
_INT = (lambda v: isinstance(v, int) and not isinstance(v, bool), 'an integer')
TOP_LEVEL_TYPES = {
    'name': _TEXT, 'output_root': _OPTIONAL_TEXT, 'checkpoint': _OPTIONAL_TEXT, 'manual_seed': _INT,
    'threads': (lambda v: v is None or (_INT[0](v) and v >= 1), 'null or an integer >= 1'),
    'num_gpu': (lambda v: v == 'auto' or (_INT[0](v) and v >= 0), "'auto' or an integer >= 0"),
    'log_every': (lambda v: v is None or (_INT[0](v) and v >= 1), 'null or an integer >= 1'),
    'genotype': (lambda v: isinstance(v, (str, dict)), 'a genotype name, string or file, or a mapping'),
}
SECTIONS = ('space', 'data', 'train', 'architect', 'search', 'benchmark')


def check_top_level_types(opt, path):
    for key, (accepts, description) in TOP_LEVEL_TYPES.items():
        if key in opt and not accepts(opt[key]):
            raise OptionError(f"{path}: option '{key}': must be {description}, got {opt[key]!r}")
    for key in SECTIONS:
        if opt.get(key) is not None and not isinstance(opt[key], dict):
            raise OptionError(f"{path}: option '{key}': expected a mapping of options, got {opt[key]!r}")


def section(opt, name, defaults, where=None):
    """``opt[name]`` merged over ``defaults``; unknown keys are an error naming the section."""
    where = where or name
    given = opt.get(name) or {}
    if not isinstance(given, dict):
        raise OptionError(f'{where} must be a mapping, got {given!r}')
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise OptionError(f'{where}: unknown option(s) {unknown}; allowed: {sorted(defaults)}')
    check_kinds(given, defaults, where)
    for key, bound in SECTION_MINIMUM.get(name, {}).items():
        value = given.get(key)
        if key in INTEGER_KEYS and value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise OptionError(f'{where}.{key} must be an integer, got {value!r}')
        if isinstance(value, (int, float)) and not isinstance(value, bool) and not value >= bound:
            raise OptionError(f'{where}.{key} must be >= {bound}, got {value!r}')
    merged = copy.deepcopy(defaults)
    merged.update(given)
    return merged


# Lower bounds of section values (a NaN fails them too); loops and layer sizes below them crash deep inside.
SECTION_MINIMUM = {
    'train': {'epochs': 1, 'max_steps_per_epoch': 1, 'lr': 0, 'lr_min': 0, 'momentum': 0, 'weight_decay': 0,
              'grad_clip': 0, 'label_smoothing': 0},
    'space': {'channels': 1, 'layers': 1, 'cells_per_stage': 1, 'partial_k': 1},
}


NULLABLE = ('grad_clip',)  # null turns gradient clipping off; other keys with a default need a value
INTEGER_KEYS = ('epochs', 'max_steps_per_epoch', 'channels', 'layers', 'cells_per_stage', 'partial_k')


def check_kinds(given, defaults, where):
    """Every given value is of the kind of its default (a number where the default is one, ...)."""
    for key, value in given.items():
        kind = _kind_of(defaults[key])
        if value is None and key in NULLABLE:
            continue
        if kind is not None and not kind[0](value):
            raise OptionError(f'{where}.{key} must be {kind[1]}, got {value!r}')


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _kind_of(default):
    """(accepts, description) for values replacing ``default``; None: anything (a null default)."""
    if isinstance(default, bool):
        return lambda v: isinstance(v, bool), 'true or false'
    if isinstance(default, int):
        return lambda v: isinstance(v, int) and not isinstance(v, bool), 'an integer'
    if isinstance(default, float):
        return _is_number, 'a number'
    if isinstance(default, str):  # numbers too (hp: 200 means '200'), and lists (space.primitives)
        return lambda v: isinstance(v, (str, list)) or _is_number(v), 'text'
    if isinstance(default, (list, tuple)):
        return lambda v: isinstance(v, (list, tuple)), 'a list'
    if isinstance(default, dict):
        return lambda v: isinstance(v, dict), 'a mapping'
    return None
