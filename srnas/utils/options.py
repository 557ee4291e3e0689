"""Load a BasicSR option YAML and check it before BasicSR sees it.

BasicSR 1.4.2 reports a bad option deep inside its pipeline (KeyError, assertion,
cv2 error in a data-loader worker). :func:`load_options` checks the file up front and
raises one :class:`~srnas.utils.errors.InputError` whose message names the file and the
option at fault: unknown keys, unknown ``type`` names, wrongly typed values, missing
data folders, unreadable images and LR/GT pairs whose sizes do not fit ``scale``.

Model types widen the accepted keys with a class attribute
``EXTRA_OPTION_KEYS = {'<section>': {...}}`` (section ``''`` = top level). Search files
(``srnas search``, ``model_type: SRNASSearchModel``) are read by the search loop, not by a
BasicSR model: ``search=True`` accepts their ``search:`` and ``architect:`` blocks and
``train: {grad_clip}``.
"""
import inspect
from pathlib import Path

import yaml

from srnas.utils.errors import InputError

TOP_LEVEL_KEYS = {
    'name', 'model_type', 'scale', 'num_gpu', 'manual_seed', 'find_unused_parameters', 'datasets', 'path',
    'train', 'val', 'logger', 'dist_params', 'is_train', 'dist', 'rank', 'world_size', 'auto_resume',
    'root_path',
}
TRAIN_KEYS = {
    'ema_decay', 'optim_g', 'optim_d', 'scheduler', 'total_iter', 'warmup_iter', 'pixel_opt', 'perceptual_opt',
    'gan_opt', 'ldl_opt', 'feature_matching_opt', 'net_d_iters', 'net_d_init_iters',
}
VAL_KEYS = {'val_freq', 'save_img', 'suffix', 'pbar', 'metrics'}
LOGGER_KEYS = {'print_freq', 'save_checkpoint_freq', 'use_tb_logger', 'wandb'}
PATH_KEYS = {
    'pretrain_network_g', 'pretrain_network_d', 'param_key_g', 'param_key_d', 'strict_load_g', 'strict_load_d',
    'resume_state', 'ignore_resume_networks', 'experiments_root', 'results_root', 'models', 'training_states',
    'log', 'visualization',
}
DATASET_COMMON_KEYS = {
    'name', 'type', 'phase', 'scale', 'io_backend', 'num_worker_per_gpu', 'batch_size_per_gpu',
    'dataset_enlarge_ratio', 'prefetch_mode', 'num_prefetch_queue', 'pin_memory', 'persistent_workers',
    'use_shuffle',
}
# Keys of the dataset types whose schema we know; other types are not key-checked.
DATASET_TYPE_KEYS = {
    'PairedImageDataset': {'dataroot_gt', 'dataroot_lq', 'meta_info_file', 'filename_tmpl', 'gt_size', 'use_hflip',
                           'use_rot', 'use_flip', 'color', 'mean', 'std'},
    'SingleImageDataset': {'dataroot_lq', 'meta_info_file', 'color', 'mean', 'std'},
}
SCHEDULERS = {'MultiStepLR', 'MultiStepRestartLR', 'CosineAnnealingRestartLR'}

# Expected value types of dotted options (``*`` = any dataset phase)
INT_OPTIONS = ('scale', 'manual_seed', 'train.total_iter', 'train.warmup_iter', 'logger.print_freq',
               'datasets.*.gt_size', 'datasets.*.batch_size_per_gpu', 'datasets.*.num_worker_per_gpu',
               'datasets.*.dataset_enlarge_ratio')
NUMBER_OPTIONS = ('train.ema_decay', 'train.optim_g.lr', 'train.optim_g.weight_decay', 'train.pixel_opt.loss_weight',
                  'val.val_freq', 'logger.save_checkpoint_freq')
BOOL_OPTIONS = ('datasets.*.use_hflip', 'datasets.*.use_rot')
VALUE_TYPES = {**{o: ((int,), 'an integer') for o in INT_OPTIONS}, **{o: ((int, float), 'a number') for o in
               NUMBER_OPTIONS}, **{o: ((bool,), 'true or false') for o in BOOL_OPTIONS}}

SEARCH_MODEL_TYPE = 'SRNASSearchModel'
SEARCH_EXTRA_KEYS = {'': {'search', 'architect'}, 'train': {'grad_clip'}}


def _read_one_yaml(path):
    if not path.is_file():
        raise InputError(f'option file not found: {path}')
    try:
        with open(path, encoding='utf-8') as handle:
            opt = yaml.safe_load(handle)
    except yaml.YAMLError as exc:
        raise InputError(f'{path}: not valid YAML ({exc})') from None
    if not isinstance(opt, dict):
        raise InputError(f'{path}: expected a mapping of options at the top level')
    return opt


def merge_options(base, override):
    """``base`` with ``override`` laid over it: mappings merge key by key, any other value replaces."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_options(merged[key], value)
        else:
            merged[key] = value
    return merged


def read_yaml(path, _chain=()):
    """Parse ``path`` into a dict, resolving ``base: other.yml`` (relative to the file's folder).

    A file with ``base:`` holds only what differs from its base: mappings merge key by key, lists and
    scalars replace. Bases chain; a cycle or a missing base is an InputError naming the file.
    """
    path = Path(path)
    opt = _read_one_yaml(path)
    base = opt.pop('base', None)
    if base is None:
        return opt
    if not isinstance(base, str):
        raise InputError(f"{path}: option 'base': expected the path of another option file, got {base!r}")
    base_path = (path.parent / base).resolve()
    chain = _chain + (path.resolve(),)
    if base_path in chain:
        raise InputError(f"{path}: option 'base': {base} is already one of its bases (a cycle)")
    if not base_path.is_file():
        raise InputError(f"{path}: option 'base': file not found: {base_path}")
    return merge_options(read_yaml(base_path, chain), opt)


def parse_override_value(text):
    """Value of a ``--force_yml key=value`` entry, with BasicSR's rules (``~``, bools, numbers, lists); text
    that is no YAML value (an NB201 cell string starts with YAML's block-scalar ``|``) stays a string, as in BasicSR."""
    try:
        value = yaml.safe_load(text.replace('!!float', '').strip()) if text.strip() else ''
    except yaml.YAMLError:
        return text.strip()
    if isinstance(value, str) and value.lower() == 'none':
        return None
    return value


def apply_overrides(opt, entries, source='--force_yml', add_keys=False):
    """Apply ``a:b:c=value`` entries (BasicSR's ``--force_yml``); new keys only with ``add_keys``
    (classification, whose sections have defaults)."""
    for entry in entries or ():
        if '=' not in entry:
            raise InputError(f"{source}: '{entry}' is not of the form key1:key2=value")
        keys, value = entry.split('=', 1)
        keys = [k.strip() for k in keys.split(':')]
        node = opt
        for depth, key in enumerate(keys[:-1]):
            if add_keys and isinstance(node, dict) and node.get(key) is None:
                node[key] = {}
            if not isinstance(node, dict) or key not in node or not isinstance(node[key], dict):
                raise InputError(f"{source}: option '{':'.join(keys[:depth + 1])}' does not exist")
            node = node[key]
        if not isinstance(node, dict) or (keys[-1] not in node and not add_keys):
            raise InputError(f"{source}: option '{':'.join(keys)}' does not exist (overrides cannot add keys)")
        node[keys[-1]] = parse_override_value(value)
    return opt


def load_options(path, is_train=True, overrides=None, check_data=True, search=False):
    """Read, override and validate an option file; returns the option dict (BasicSR schema)."""
    opt = read_yaml(path)
    apply_overrides(opt, overrides)
    validate_options(opt, path, is_train=is_train, check_data=check_data, search=search)
    return opt


class _Checker:
    """Collects the context (file name) so that every error names the file and the option."""

    def __init__(self, path):
        self.path = path

    def fail(self, option, message):
        raise InputError(f"{self.path}: option '{option}': {message}")

    def keys(self, mapping, allowed, prefix):
        if mapping is None:
            return
        if not isinstance(mapping, dict):
            self.fail(prefix, f'expected a mapping, got {type(mapping).__name__}')
        for key in mapping:
            if key not in allowed:
                where = f'{prefix}.{key}' if prefix else key
                self.fail(where, f'unknown key (known: {", ".join(sorted(allowed))})')

    def registered(self, registry, type_name, option):
        if type_name is None:
            self.fail(option, 'missing')
        if type_name not in registry:
            known = sorted(name for name, _ in registry)
            self.fail(option, f"unknown type '{type_name}' (registered: {', '.join(known)})")
        return registry.get(type_name)


def _lookup(opt, dotted):
    """The value of a dotted option, None where it is absent."""
    node = opt
    for key in dotted.split('.'):
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _check_value_types(opt, check):
    for dotted, (types, description) in VALUE_TYPES.items():
        candidates = [dotted]
        if '.*.' in dotted:
            head, tail = dotted.split('.*.')
            phases = (opt.get(head) or {}) if isinstance(opt.get(head), dict) else {}
            candidates = [f'{head}.{phase}.{tail}' for phase in phases]
        for option in candidates:
            value = _lookup(opt, option)
            if value is None:
                continue
            if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
                hint = " (YAML reads 2e-4 as text: write 0.0002 or !!float 2e-4)" if isinstance(value, str) else ''
                check.fail(option, f'must be {description}, got {value!r}{hint}')


def _model_extra_keys(model_cls):
    extra = {}
    for klass in reversed(inspect.getmro(model_cls)):
        for section, keys in getattr(klass, 'EXTRA_OPTION_KEYS', {}).items():
            extra.setdefault(section, set()).update(keys)
    return extra


def check_network_options(opt, path, key='network_g'):
    """``opt[key]`` names a registered network and only its constructor arguments (InputError otherwise)."""
    from srnas.basicsr_compat import register_plugins
    register_plugins()
    from basicsr.utils.registry import ARCH_REGISTRY
    from srnas.utils.option_schema import check_shapes
    check = _Checker(path)
    check_shapes({key: opt.get(key)}, check)
    _check_network(opt, key, check, ARCH_REGISTRY)


def _check_network(opt, key, check, registry):
    net_opt = opt[key]
    if not isinstance(net_opt, dict):
        check.fail(key, 'expected a mapping with a type and the constructor arguments')
    arch_cls = check.registered(registry, net_opt.get('type'), f'{key}.type')
    params = inspect.signature(arch_cls).parameters
    if any(p.kind == p.VAR_KEYWORD for p in params.values()):
        _try_build(arch_cls, net_opt, key, check)
        return
    for arg in net_opt:
        if arg != 'type' and arg not in params:
            check.fail(f'{key}.{arg}', f"unknown argument of {net_opt['type']} "
                                       f"(accepted: {', '.join(n for n in params if n != 'self')})")
    for name, p in params.items():
        if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and name not in net_opt:
            check.fail(f'{key}.{name}', f"required by {net_opt['type']} but missing")
    if 'upscale' in net_opt and 'scale' in opt and net_opt['upscale'] != opt['scale']:
        check.fail(f'{key}.upscale', f"is {net_opt['upscale']} but 'scale' is {opt['scale']}")
    _try_build(arch_cls, net_opt, key, check)


def _try_build(arch_cls, net_opt, key, check):
    """Build the network once: a value of the wrong type or size fails here, named, not inside BasicSR."""
    from srnas.errors import SRNASError
    try:
        arch_cls(**{k: v for k, v in net_opt.items() if k != 'type'})
    except SRNASError as exc:
        check.fail(key, str(exc))
    except (TypeError, ValueError, RuntimeError, AttributeError, KeyError, IndexError, ZeroDivisionError) as exc:
        check.fail(key, f"cannot build {net_opt['type']} from these arguments ({type(exc).__name__}: {exc})")


def validate_options(opt, path, is_train=True, check_data=True, search=False):
    """Raise InputError for the first problem found in ``opt`` (read from ``path``; ``search``: a search file)."""
    from srnas.basicsr_compat import register_plugins
    register_plugins()
    from basicsr.models.base_model import BaseModel
    from basicsr.utils.registry import ARCH_REGISTRY, DATASET_REGISTRY, LOSS_REGISTRY, METRIC_REGISTRY, \
        MODEL_REGISTRY

    from srnas.utils.option_schema import check_shapes, check_values
    check = _Checker(path)
    for required in ('name', 'model_type', 'datasets', 'network_g'):
        if required not in opt:
            check.fail(required, 'missing')
    check_shapes(opt, check)
    if search:
        if opt['model_type'] != SEARCH_MODEL_TYPE:
            check.fail('model_type', f"must be {SEARCH_MODEL_TYPE} in a search file, got {opt['model_type']!r}")
        model_cls, extra = BaseModel, SEARCH_EXTRA_KEYS
    else:
        model_cls = check.registered(MODEL_REGISTRY, opt.get('model_type'), 'model_type')
        extra = _model_extra_keys(model_cls)
    top_allowed = TOP_LEVEL_KEYS | extra.get('', set())
    for key in opt:
        if key not in top_allowed and not key.startswith('network_'):
            check.fail(key, f'unknown top-level key (known: {", ".join(sorted(top_allowed))}, network_*)')
    _check_value_types(opt, check)
    if 'num_gpu' in opt and not (opt['num_gpu'] == 'auto' or (isinstance(opt['num_gpu'], int)
                                                               and not isinstance(opt['num_gpu'], bool))):
        check.fail('num_gpu', f"must be an integer or 'auto', got {opt['num_gpu']!r}")
    for key in opt:
        if key.startswith('network_'):
            _check_network(opt, key, check, ARCH_REGISTRY)
    for section, allowed in (('train', TRAIN_KEYS), ('val', VAL_KEYS), ('logger', LOGGER_KEYS),
                             ('path', PATH_KEYS)):
        check.keys(opt.get(section), allowed | extra.get(section, set()), section)
    if is_train:
        _check_train_section(opt, check, model_cls, LOSS_REGISTRY)
    _check_metrics(opt, check, METRIC_REGISTRY)
    check_values(opt, check, is_train, search)
    _check_pretrained(opt, check)
    if not isinstance(opt['datasets'], dict) or not opt['datasets']:
        check.fail('datasets', 'expected at least one dataset')
    for phase, dataset_opt in opt['datasets'].items():
        _check_dataset(opt, phase, dataset_opt, check, DATASET_REGISTRY, is_train, check_data)
    if is_train and 'train' not in opt['datasets']:
        check.fail('datasets.train', 'missing (training needs a train set)')


def _check_train_section(opt, check, model_cls, loss_registry):
    from basicsr.models.base_model import BaseModel
    train = opt.get('train')
    if not isinstance(train, dict):
        check.fail('train', 'missing (training needs optimizer, scheduler, total_iter and a loss)')
    if 'total_iter' not in train:
        check.fail('train.total_iter', 'missing')
    optim = train.get('optim_g')
    if isinstance(optim, dict):
        if model_cls.get_optimizer is BaseModel.get_optimizer and optim.get('type') != 'Adam':
            check.fail('train.optim_g.type', f"unknown type {optim.get('type')!r}: BasicSR 1.4.2 models support "
                                             "only 'Adam' (model_type SRNASModel accepts any torch.optim optimizer)")
        known = getattr(model_cls, 'optimizer_names', None)
        if known is not None and optim.get('type') not in known():
            check.fail('train.optim_g.type', f"unknown type {optim.get('type')!r} (known: {', '.join(known())})")
    clip = train.get('grad_clip')
    if clip is not None and (isinstance(clip, bool) or not isinstance(clip, (int, float)) or clip <= 0):
        check.fail('train.grad_clip', f'must be a positive number, got {clip!r}')
    scheduler = train.get('scheduler')
    if isinstance(scheduler, dict) and scheduler.get('type') not in SCHEDULERS:
        check.fail('train.scheduler.type', f"unknown type {scheduler.get('type')!r} "
                                           f"(known: {', '.join(sorted(SCHEDULERS))})")
    for loss_key in ('pixel_opt', 'perceptual_opt'):
        if isinstance(train.get(loss_key), dict):
            check.registered(loss_registry, train[loss_key].get('type'), f'train.{loss_key}.type')
    if 'logger' not in opt:
        check.fail('logger', 'missing (needs print_freq and save_checkpoint_freq)')


def _check_metrics(opt, check, metric_registry):
    metrics = (opt.get('val') or {}).get('metrics') or {}
    if not isinstance(metrics, dict):
        check.fail('val.metrics', 'expected a mapping of metric name -> {type, crop_border, ...}')
    for name, metric in metrics.items():
        if not isinstance(metric, dict):
            check.fail(f'val.metrics.{name}', 'expected a mapping with a type')
        check.registered(metric_registry, metric.get('type'), f'val.metrics.{name}.type')


def _check_pretrained(opt, check):
    for key, value in (opt.get('path') or {}).items():
        if (key.startswith('pretrain_network') or key == 'resume_state') and value is not None:
            if not Path(value).expanduser().is_file():
                check.fail(f'path.{key}', f'file not found: {value}')


def _check_dataset(opt, phase, dataset_opt, check, registry, is_train, check_data):
    prefix = f'datasets.{phase}'
    phase_kind = phase.split('_')[0]
    allowed_phases = ('train', 'val') if is_train else ('test', 'val')
    if phase_kind not in allowed_phases:
        check.fail(prefix, f"unknown phase '{phase_kind}' (use {' / '.join(p + '[_N]' for p in allowed_phases)})")
    if not isinstance(dataset_opt, dict):
        check.fail(prefix, 'expected a mapping')
    dataset_type = dataset_opt.get('type')
    check.registered(registry, dataset_type, f'{prefix}.type')
    if 'name' not in dataset_opt:
        check.fail(f'{prefix}.name', 'missing')
    if dataset_type in DATASET_TYPE_KEYS:
        check.keys(dataset_opt, DATASET_COMMON_KEYS | DATASET_TYPE_KEYS[dataset_type], prefix)
    if phase_kind == 'train':
        for key in ('batch_size_per_gpu', 'num_worker_per_gpu'):
            if key not in dataset_opt:
                check.fail(f'{prefix}.{key}', 'missing')
    needed = {'PairedImageDataset': ('dataroot_gt', 'dataroot_lq'), 'SingleImageDataset': ('dataroot_lq',)}
    for key in needed.get(dataset_type, ()):
        if not dataset_opt.get(key):
            check.fail(f'{prefix}.{key}', 'missing dataroot')
    for key in ('dataroot_gt', 'dataroot_lq', 'meta_info_file'):
        value = dataset_opt.get(key)
        if value is not None and not Path(value).expanduser().exists():
            check.fail(f'{prefix}.{key}', f'not found: {value}')
    if not check_data or (dataset_opt.get('io_backend') or {}).get('type', 'disk') != 'disk':
        return
    from srnas.data.validation import check_paired_folder, check_single_folder
    if dataset_type == 'PairedImageDataset':
        check_paired_folder(dataset_opt, opt.get('scale', 1), prefix, str(check.path), exact=phase_kind == 'train',
                            gt_size=dataset_opt.get('gt_size') if phase_kind == 'train' else None)
    if dataset_type == 'SingleImageDataset' and not dataset_opt.get('meta_info_file'):
        check_single_folder(dataset_opt, prefix, str(check.path))
