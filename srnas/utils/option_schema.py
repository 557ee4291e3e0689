"""Value checks of BasicSR option files that key names alone miss (found by the fuzz tests, tests/fuzz).

``srnas.utils.options.validate_options`` calls :func:`check_shapes` first (sections that must be
mappings, values that must be text) and :func:`check_values` after its own checks: numbers finite and
in range, the keys BasicSR reads without a default, and the arguments of every typed component (loss,
optimizer, learning-rate scheduler, I/O backend) against the constructor BasicSR will call. Without them
BasicSR stops deep in its pipeline with a KeyError or TypeError instead of one line naming the option.
"""
import inspect
import math

# Sections that must be mappings when present (``*``: every dataset phase).
MAPPINGS = ('datasets', 'datasets.*', 'datasets.*.io_backend', 'network_g', 'train', 'train.optim_g', 'train.scheduler',
            'train.pixel_opt', 'train.perceptual_opt', 'val', 'val.metrics', 'val.metrics.*', 'logger', 'path')
# Values that must be text when present; those marked optional may also be null.
TEXTS = ('name', 'model_type', 'datasets.*.name', 'datasets.*.type', 'datasets.*.dataroot_gt',
         'datasets.*.dataroot_lq', 'datasets.*.io_backend.type', 'network_g.type', 'train.optim_g.type',
         'train.scheduler.type', 'train.pixel_opt.type', 'train.perceptual_opt.type', 'val.metrics.*.type')
OPTIONAL_TEXTS = ('datasets.*.meta_info_file', 'datasets.*.filename_tmpl', 'path.pretrain_network_g',
                  'path.resume_state', 'path.param_key_g', 'val.suffix')
# Numbers that must be finite and at least this large (``>``: strictly larger).
MINIMUM = {
    'scale': ('>=', 1), 'val.val_freq': ('>', 0), 'logger.print_freq': ('>', 0),
    'logger.save_checkpoint_freq': ('>', 0), 'train.total_iter': ('>=', 0), 'train.optim_g.lr': ('>=', 0),
    'train.ema_decay': ('>=', 0), 'datasets.*.batch_size_per_gpu': ('>=', 1), 'datasets.*.gt_size': ('>=', 1),
    'datasets.*.num_worker_per_gpu': ('>=', 0), 'datasets.*.dataset_enlarge_ratio': ('>=', 1),
    'train.pixel_opt.loss_weight': ('>=', 0),
}
# Whole numbers and switches BasicSR uses as such (other typed options: VALUE_TYPES in options.py).
INTEGERS = ('val.metrics.*.crop_border',)
SWITCHES = ('val.metrics.*.test_y_channel', 'val.save_img', 'val.pbar', 'logger.use_tb_logger', 'path.strict_load_g')
MINIMUM['val.metrics.*.crop_border'] = ('>=', 0)
# BasicSR's PairedImageDataset reads these without a default in a training phase.
TRAIN_PAIRED_KEYS = ('gt_size', 'use_hflip', 'use_rot')
IO_BACKENDS = ('disk', 'lmdb', 'memcached')
# BasicSR's scheduler names -> the class it builds; the optimizer is passed by BasicSR, not by the file.
SCHEDULER_CLASSES = {'MultiStepLR': 'MultiStepRestartLR', 'MultiStepRestartLR': 'MultiStepRestartLR',
                     'CosineAnnealingRestartLR': 'CosineAnnealingRestartLR'}


def options_at(opt, dotted):
    """[(option name, value)] present at ``dotted`` (``*`` expands over the keys of a mapping)."""
    found = [('', opt)]
    for key in dotted.split('.'):
        step = []
        for name, node in found:
            if not isinstance(node, dict):
                continue
            keys = list(node) if key == '*' else [key] if key in node else []
            step += [(f'{name}.{k}' if name else str(k), node[k]) for k in keys]
        found = step
    return found


def check_shapes(opt, check):
    """Mappings are mappings and texts are text, before any check reads inside them."""
    for dotted in MAPPINGS:
        for option, value in options_at(opt, dotted):
            if value is not None and not isinstance(value, dict):
                check.fail(option, f'expected a mapping of options, got {_shown(value)}')
    for dotted in TEXTS + OPTIONAL_TEXTS:
        for option, value in options_at(opt, dotted):
            if value is None and dotted in OPTIONAL_TEXTS:
                continue
            if not isinstance(value, str) or not value.strip():
                check.fail(option, f'expected text, got {_shown(value)}')


def check_values(opt, check, is_train, search):
    """Ranges, the keys BasicSR needs without a default, and the arguments of typed components."""
    for dotted in INTEGERS:
        for option, value in options_at(opt, dotted):
            if isinstance(value, bool) or not isinstance(value, int):
                check.fail(option, f'must be an integer, got {_shown(value)}')
    for dotted in SWITCHES:
        for option, value in options_at(opt, dotted):
            if value is not None and not isinstance(value, bool):
                check.fail(option, f'must be true or false, got {_shown(value)}')
    for dotted, (relation, bound) in MINIMUM.items():
        for option, value in options_at(opt, dotted):
            if value is None:  # BasicSR does arithmetic with these: null is no default
                check.fail(option, f'must be a number {relation} {bound}, got null')
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue  # types are checked by validate_options
            if not math.isfinite(value) or (value <= bound if relation == '>' else value < bound):
                check.fail(option, f'must be a finite number {relation} {bound}, got {value!r}')
    for option, backend in options_at(opt, 'datasets.*.io_backend'):
        if isinstance(backend, dict):
            _check_backend(option, backend, check)
    for option, dataset in options_at(opt, 'datasets.*'):
        if not isinstance(dataset, dict):
            check.fail(option, f'expected a mapping of options, got {_shown(dataset)}')
        if dataset.get('type') in ('PairedImageDataset', 'SingleImageDataset') and 'io_backend' not in dataset:
            check.fail(f'{option}.io_backend', "missing (e.g. io_backend: {type: disk})")
        if option.split('.')[1].startswith('train') and dataset.get('type') == 'PairedImageDataset':
            for key in TRAIN_PAIRED_KEYS:
                if key not in dataset:
                    check.fail(f'{option}.{key}', 'missing (a training set of PairedImageDataset needs it)')
    for option, metric in options_at(opt, 'val.metrics.*'):
        if not isinstance(metric, dict):
            check.fail(option, f'expected a mapping with a type, got {_shown(metric)}')
        _check_metric(option, metric, check)
    train = opt.get('train') if isinstance(opt.get('train'), dict) else {}
    if is_train and search:  # the search loop reads its weight optimizer and data loss from these
        for key in ('optim_g', 'pixel_opt'):
            if not isinstance(train.get(key), dict):
                check.fail(f'train.{key}', 'missing (the search needs it for the weights)')
    if is_train and not search:
        for key in ('optim_g', 'scheduler'):
            if not isinstance(train.get(key), dict):
                check.fail(f'train.{key}', 'missing (BasicSR needs it to train)')
        if not any(isinstance(train.get(k), dict) for k in ('pixel_opt', 'perceptual_opt')):
            check.fail('train.pixel_opt', 'missing (training needs a loss: pixel_opt or perceptual_opt)')
        logger = opt.get('logger') if isinstance(opt.get('logger'), dict) else {}
        for key in ('print_freq', 'save_checkpoint_freq', 'use_tb_logger'):
            if logger.get(key) is None:
                check.fail(f'logger.{key}', 'missing (BasicSR reads it while training)')
        if isinstance(opt.get('val'), dict) and opt['val'].get('val_freq') is None:
            check.fail('val.val_freq', 'missing (iterations between validations; BasicSR reads it when val is given)')
    if not search and 'num_gpu' not in opt:
        check.fail('num_gpu', "missing (0 for the CPU, or 'auto'; BasicSR reads it)")
    if not search and not isinstance(opt.get('path'), dict):
        check.fail('path', 'missing (a mapping, e.g. {pretrain_network_g: ~}; BasicSR adds its folders to it)')
    _check_optimizer(train.get('optim_g'), check, required_lr=not search)
    _check_scheduler(train.get('scheduler'), check)
    for key in ('pixel_opt', 'perceptual_opt'):
        if isinstance(train.get(key), dict):
            _check_loss(f'train.{key}', train[key], check)


def check_arguments(check, option, target, given, passed_by_caller=(), required=()):
    """Every key of ``given`` (but ``type``) is an argument of ``target``, of the kind of its default;
    its required ones are given."""
    params = inspect.signature(target).parameters
    free = {name: p for name, p in params.items() if name not in passed_by_caller and name != 'self'}
    for key, value in given.items():
        if key in free and not _like_default(free[key].default, value):
            check.fail(f'{option}.{key}', f'must be {_describe(free[key].default)}, got {_shown(value)}')
        if key in LIST_ARGUMENTS and not (isinstance(value, (list, tuple)) and value and all(
                isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value)):
            check.fail(f'{option}.{key}', f'must be a list of iteration counts, got {_shown(value)}')
    if not any(p.kind == p.VAR_KEYWORD for p in free.values()):
        for key in given:
            if key != 'type' and key not in free:
                accepted = ', '.join(n for n, p in free.items() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL))
                check.fail(f'{option}.{key}', f"unknown argument of {given.get('type')} (accepted: {accepted})")
    for name, p in free.items():
        needed = name in required or (p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
        if needed and name not in given:
            check.fail(f'{option}.{name}', f"required by {given.get('type')} but missing")


# Scheduler arguments without a default that BasicSR iterates over.
LIST_ARGUMENTS = ('milestones', 'periods')


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _like_default(default, value):
    """Whether ``value`` may replace an argument's ``default`` (numbers for numbers, pairs for pairs, ...)."""
    if default is inspect.Parameter.empty or default is None:
        return True
    if isinstance(default, bool):
        return isinstance(value, bool)
    if _is_number(default):
        return _is_number(value) and math.isfinite(value)
    if isinstance(default, str):
        return isinstance(value, str)
    if isinstance(default, (list, tuple)):
        return isinstance(value, (list, tuple)) and (len(default) != 2 or len(value) == 2) and all(
            _is_number(v) and math.isfinite(v) for v in value)
    return True


def _describe(default):
    if isinstance(default, bool):
        return 'true or false'
    if _is_number(default):
        return 'a finite number'
    if isinstance(default, str):
        return 'text'
    return 'a list of numbers' + (' (two of them)' if len(default) == 2 else '')


def _check_backend(option, backend, check):
    kind = backend.get('type')
    if kind not in IO_BACKENDS:
        check.fail(f'{option}.type', f"unknown I/O backend {kind!r} (known: {', '.join(IO_BACKENDS)})")
    if kind == 'disk':
        extra = sorted(k for k in backend if k != 'type')
        if extra:
            check.fail(f'{option}.{extra[0]}', 'unknown key: the disk backend takes no options')


def _check_optimizer(optim, check, required_lr):
    import torch
    if not isinstance(optim, dict) or not isinstance(optim.get('type'), str):
        return
    cls = getattr(torch.optim, optim['type'], None)
    if not (isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)):
        return  # an unknown name is reported with the model's known optimizers by validate_options
    # BasicSR calls get_optimizer(type, params, lr, **rest): lr is required there, params never comes from the file
    check_arguments(check, 'train.optim_g', cls, optim, passed_by_caller=('params',),
                    required=('lr',) if required_lr else ())


def _check_scheduler(scheduler, check):
    if not isinstance(scheduler, dict) or scheduler.get('type') not in SCHEDULER_CLASSES:
        return
    from basicsr.models import lr_scheduler
    cls = getattr(lr_scheduler, SCHEDULER_CLASSES[scheduler['type']])
    check_arguments(check, 'train.scheduler', cls, scheduler, passed_by_caller=('optimizer',))


def _check_metric(option, metric, check):
    from basicsr.utils.registry import METRIC_REGISTRY
    if metric.get('type') in METRIC_REGISTRY:  # BasicSR calls it as metric(img=..., img2=..., **options)
        check_arguments(check, option, METRIC_REGISTRY.get(metric['type']), metric, passed_by_caller=('img', 'img2'))


def _check_loss(option, loss, check):
    from basicsr.utils.registry import LOSS_REGISTRY
    if loss.get('type') in LOSS_REGISTRY:
        check_arguments(check, option, LOSS_REGISTRY.get(loss['type']), loss)


def _shown(value):
    text = repr(value)
    return f'{type(value).__name__} {text if len(text) <= 40 else text[:37] + "..."}'
