"""``srnas search -opt options/search/X.yml``: differentiable architecture search of an SR network.

The loop around ``SRNASSearchModel``: weights train on ``datasets.train``,
alpha on the separate architecture split ``datasets.train_arch``. An epoch is
``search.iters_per_epoch`` iterations; ``train.total_iter`` sets the length.
Every epoch it logs the derived genotype and softmax(alpha/beta) to
``search_log.json`` and TensorBoard, redraws the alpha-evolution plots,
rewrites ``genotype.json`` and saves a checkpoint (write-then-rename).

Determinism: every epoch reseeds python/numpy/torch and its samplers from
``(manual_seed, epoch)``, so a search resumed from an epoch checkpoint
(``--auto_resume``) replays exactly what an uninterrupted run does on CPU.
"""
import argparse
import json
import math
import random
import shutil
import time
from pathlib import Path

HELP = 'search an SR architecture (DLSR / IMDN space) with any architect and regulariser (-opt options/search/X.yml)'
SEARCH_KEYS = {'iters_per_epoch', 'keep_checkpoints', 'plot', 'train_image_range', 'arch_image_range'}
CHECKPOINT_GLOB = 'epoch_*.pth'


def build_parser():
    parser = argparse.ArgumentParser(prog='srnas search', description=HELP)
    parser.add_argument('-opt', required=True, help='search option YAML (options/search/*.yml)')
    parser.add_argument('--auto_resume', action='store_true',
                        help='continue from the newest checkpoint in experiments/<name>/checkpoints')
    parser.add_argument('--force_yml', nargs='+', default=None, metavar='KEY=VALUE',
                        help='override existing options, e.g. train:total_iter=40 search:iters_per_epoch=10')
    parser.add_argument('--root', default=None, help='folder receiving experiments/ and tb_logger/ (default: cwd)')
    parser.add_argument('--threads', type=int, default=0,
                        help='torch CPU threads (0 = torch default; 1 is much faster on a busy CPU)')
    parser.add_argument('--quiet', action='store_true', help='no progress bar')
    return parser


def main(argv):
    args = build_parser().parse_args(argv)
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    from srnas.utils.cli import run_guarded
    return run_guarded('search', _run_and_report, args)


def _run_and_report(args):
    result = run_search(args.opt, auto_resume=args.auto_resume, overrides=args.force_yml, root=args.root,
                        progress=not args.quiet)
    print(f"genotype: {json.dumps(result['genotype'])}")
    print(f"stable since epoch {result['stable_since_epoch']} of {result['epochs']}")
    print(f"genotype file: {result['genotype_file']}")
    print(f"alpha plots: {', '.join(str(p) for p in result['plots'])}")


# ----------------------------------------------------------------------------------------------
def load_search_options(opt_path, overrides=None):
    """Validated options (foundation checks + the search-specific sections)."""
    from srnas.utils.errors import InputError
    from srnas.utils.options import load_options
    opt = load_options(opt_path, is_train=True, overrides=overrides)
    search = opt.get('search')
    if not isinstance(search, dict) or 'iters_per_epoch' not in search:
        raise InputError(f"{opt_path}: option 'search.iters_per_epoch': missing (iterations per search epoch)")
    unknown = sorted(set(search) - SEARCH_KEYS)
    if unknown:
        raise InputError(f"{opt_path}: option 'search.{unknown[0]}': unknown key (known: {', '.join(sorted(SEARCH_KEYS))})")
    ipe = search['iters_per_epoch']
    if isinstance(ipe, bool) or not isinstance(ipe, int) or ipe < 1:
        raise InputError(f"{opt_path}: option 'search.iters_per_epoch': must be a positive integer, got {ipe!r}")
    for key in ('train_image_range', 'arch_image_range'):
        value = search.get(key)
        if value is not None and not (isinstance(value, list) and len(value) == 2 and
                                      all(isinstance(v, int) and not isinstance(v, bool) for v in value)
                                      and value[0] <= value[1]):
            raise InputError(f"{opt_path}: option 'search.{key}': must be [first, last] image numbers, got {value!r}")
    if 'train_arch' not in opt['datasets']:
        raise InputError(f"{opt_path}: option 'datasets.train_arch': missing (the architecture split)")
    if 'architect' not in opt:
        raise InputError(f"{opt_path}: option 'architect': missing (type, optimizer, regularizers)")
    opt['is_train'], opt['dist'], opt['rank'], opt['world_size'] = True, False, 0, 1
    if opt.get('num_gpu', 'auto') == 'auto':
        import torch
        opt['num_gpu'] = 1 if torch.cuda.is_available() else 0
    opt.setdefault('manual_seed', 0)
    return opt


def _epoch_seed(seed, epoch, stream=0):
    return (seed * 1_000_003 + epoch * 7_919 + stream * 104_729) % (2 ** 31)


def _seed_everything(seed):
    import numpy as np
    import torch
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _epoch_loader(dataset, dataset_opt, num_batches, seed):
    """DataLoader yielding ``num_batches`` shuffled batches, fully determined by ``seed``."""
    import torch
    from torch.utils.data import DataLoader
    batch = dataset_opt['batch_size_per_gpu']
    generator = torch.Generator().manual_seed(seed)
    indices = []
    while len(indices) < num_batches * batch:
        indices.extend(torch.randperm(len(dataset), generator=generator).tolist())
    indices = indices[:num_batches * batch]

    def init_worker(worker_id):
        _seed_everything(seed + 1 + worker_id)

    return DataLoader(dataset, batch_size=batch, sampler=indices, drop_last=True,
                      num_workers=dataset_opt.get('num_worker_per_gpu', 0), worker_init_fn=init_worker,
                      generator=torch.Generator().manual_seed(seed))


def _image_number(path):
    digits = ''
    for char in Path(path).name:
        if not char.isdigit():
            break
        digits += char
    return int(digits) if digits else None


def _build_dataset(opt, phase, image_range=None):
    """BasicSR dataset of ``datasets.<phase>``; ``image_range [a, b]`` keeps files numbered a..b (DIV2K style)."""
    from basicsr.data import build_dataset
    from srnas.utils.errors import InputError
    dataset_opt = dict(opt['datasets'][phase])
    dataset_opt['phase'] = 'train'
    dataset_opt['scale'] = opt['scale']
    dataset = build_dataset(dataset_opt)
    if image_range is not None:
        first, last = image_range
        dataset.paths = [p for p in dataset.paths if (n := _image_number(p['gt_path'])) is not None
                         and first <= n <= last]
        if not dataset.paths:
            raise InputError(f"datasets.{phase}: no image numbered {first}..{last} "
                             f"(search.*_image_range) in {dataset_opt.get('dataroot_gt')}")
    return dataset, dataset_opt


def latest_checkpoint(exp_dir):
    found = sorted(Path(exp_dir, 'checkpoints').glob(CHECKPOINT_GLOB))
    return found[-1] if found else None


def _prepare_experiment(exp_dir, auto_resume):
    exp_dir = Path(exp_dir)
    if exp_dir.exists() and not auto_resume and any(exp_dir.iterdir()):
        archived = exp_dir.with_name(f'{exp_dir.name}_archived_{time.strftime("%Y%m%d_%H%M%S")}')
        shutil.move(str(exp_dir), str(archived))  # BasicSR's convention: never overwrite an old run
    for sub in ('checkpoints', 'plots'):
        (exp_dir / sub).mkdir(parents=True, exist_ok=True)
    return exp_dir


def run_search(opt_path, auto_resume=False, overrides=None, root=None, progress=True):
    """Run (or resume) a search; returns a summary dict (genotype, files, stable epoch)."""
    import torch
    from tqdm import tqdm

    from srnas.basicsr_compat import register_plugins
    register_plugins()
    from srnas.models.srnas_search_model import SRNASSearchModel
    from srnas.nas.errors import NASConfigError
    from srnas.nas.files import atomic_torch_save, write_mapping
    from srnas.nas.recorder import top2_margins
    from srnas.spaces.genotypes import GenotypeError, save_genotype
    from srnas.utils.errors import InputError

    opt = load_search_options(opt_path, overrides)
    root = Path(root) if root else Path.cwd()
    exp_dir = _prepare_experiment(root / 'experiments' / opt['name'], auto_resume)
    seed = opt['manual_seed']
    _seed_everything(seed)  # alpha init and weight init
    try:
        model = SRNASSearchModel(opt)
    except (NASConfigError, GenotypeError) as err:
        raise InputError(f'{opt_path}: {err}') from None
    train_set, train_opt = _build_dataset(opt, 'train', opt['search'].get('train_image_range'))
    arch_set, arch_opt = _build_dataset(opt, 'train_arch', opt['search'].get('arch_image_range'))
    iters_per_epoch = opt['search']['iters_per_epoch']
    total_iter = opt['train']['total_iter']
    epochs = math.ceil(total_iter / iters_per_epoch)
    keep = opt['search'].get('keep_checkpoints', 2)

    history, start_epoch = [], 0
    checkpoint = latest_checkpoint(exp_dir) if auto_resume else None
    if checkpoint is not None:
        state = torch.load(checkpoint, map_location=model.device, weights_only=False)
        model.load_search_state(state['model'])
        history, start_epoch = state['history'], state['epoch'] + 1
    tb = _tensorboard(opt, root)
    log_path, genotype_path = exp_dir / 'search_log.json', exp_dir / 'genotype.json'
    plots = []
    for epoch in range(start_epoch, epochs):
        _seed_everything(_epoch_seed(seed, epoch))
        first_iter = epoch * iters_per_epoch
        n_iters = min(iters_per_epoch, total_iter - first_iter)
        train_loader = _epoch_loader(train_set, train_opt, n_iters, _epoch_seed(seed, epoch, 1))
        active = model.architect.is_active(epoch)
        arch_iter = iter(_epoch_loader(arch_set, arch_opt, n_iters, _epoch_seed(seed, epoch, 2))) if active else None
        sums, norm_sums, norm_steps = {}, {}, 0
        bar = tqdm(train_loader, total=n_iters, desc=f'search epoch {epoch + 1}/{epochs}', disable=not progress,
                   leave=False)
        for i, train_batch in enumerate(bar):
            arch_batch = next(arch_iter) if arch_iter is not None else None
            log = model.optimize_parameters(first_iter + i + 1, train_batch, arch_batch, epoch)
            for key, value in log.items():
                sums[key] = sums.get(key, 0.0) + value
            if model.architect.last_grad_norms and 'l_arch' in log:
                norm_steps += 1
                for key, value in model.architect.last_grad_norms.items():
                    norm_sums[key] = norm_sums.get(key, 0.0) + value
            bar.set_postfix({k: f'{v:.4f}' for k, v in log.items()})
        entry = {
            'epoch': epoch, 'iter': first_iter + n_iters, 'arch_updated': active,
            'genotype': model.genotype(), 'softmax': model.arch_probabilities(),
            'losses': {k: v / n_iters for k, v in sums.items()},
            # mean per-term alpha-gradient norms of the epoch's architect steps (Architect.last_grad_norms)
            'alpha_grad_norms': {k: v / norm_steps for k, v in norm_sums.items()},
            'lr': model.get_current_learning_rate()[0],
        }
        # how clearly each derived choice wins: top-1 minus top-2 softmax per row of alpha
        entry['top2_margin'] = top2_margins(entry['softmax']['alpha'])
        history.append(entry)
        recorder = _recorder(model, history)
        summary = _summary(opt, history, epochs, recorder)
        write_mapping(log_path, summary)
        save_genotype(entry['genotype'], genotype_path,
                      extra={'epoch': epoch, 'scale': opt['scale'], 'stable_since_epoch': summary['stable_since_epoch'],
                             'search_options': str(opt_path), 'supernet': dict(opt['network_g'])})
        _log_tensorboard(tb, entry, recorder.op_names)
        if opt['search'].get('plot', True):
            plots = _plot(recorder, exp_dir / 'plots')
        atomic_torch_save({'epoch': epoch, 'model': model.search_state(), 'history': history},
                           exp_dir / 'checkpoints' / f'epoch_{epoch:05d}.pth')
        for old in sorted((exp_dir / 'checkpoints').glob(CHECKPOINT_GLOB))[:-keep]:
            old.unlink()
        if progress:
            losses = ', '.join(f'{k} {v:.4f}' for k, v in entry['losses'].items())
            norms = ', '.join(f'{k} {v:.3g}' for k, v in entry['alpha_grad_norms'].items())
            norms = f'; |grad alpha| {norms}' if norms else ''
            margins = ' '.join(f'{m:.3f}' for m in entry['top2_margin'])
            print(f"epoch {epoch + 1}/{epochs}: {losses}{norms}; genotype {entry['genotype']['ops']} "
                  f"(top-2 margins {margins})", flush=True)
    if tb is not None:
        tb.close()
    if not history:
        raise InputError(f'{opt_path}: nothing to search (train.total_iter is 0)')
    recorder = _recorder(model, history)
    if not plots and opt['search'].get('plot', True):
        plots = _plot(recorder, exp_dir / 'plots')
    return {'genotype': history[-1]['genotype'], 'genotype_file': genotype_path, 'log_file': log_path,
            'stable_since_epoch': recorder.genotype_stable_since(), 'epochs': epochs, 'plots': plots,
            'experiment_dir': exp_dir, 'scale': opt['scale'], 'history': history}


def _summary(opt, history, epochs, recorder):
    return {'name': opt['name'], 'network': opt['network_g'], 'architect': opt['architect'],
            'scale': opt['scale'], 'epochs_planned': epochs,
            'stable_since_epoch': recorder.genotype_stable_since(), 'epochs': history}


def _tensorboard(opt, root):
    if not (opt.get('logger') or {}).get('use_tb_logger'):
        return None
    from torch.utils.tensorboard import SummaryWriter
    return SummaryWriter(log_dir=str(root / 'tb_logger' / opt['name']))


def _log_tensorboard(tb, entry, labels):
    if tb is None:
        return
    step = entry['epoch']
    for key, value in entry['losses'].items():
        tb.add_scalar(f'losses/{key}', value, step)
    for key, value in entry['alpha_grad_norms'].items():
        tb.add_scalar(f'alpha_grad_norm/{key}', value, step)
    for name, probs in entry['softmax'].items():
        rows = probs if isinstance(probs[0], list) else [probs]
        names = labels.get(name) or [f'op{i}' for i in range(len(rows[0]))]
        for r, row in enumerate(rows):
            tag = f'softmax_{name}_{r + 1}' if len(rows) > 1 else f'softmax_{name}'
            for op, p in zip(names, row):
                tb.add_scalar(f'{tag}/{op}', p, step)
    tb.add_text('genotype', json.dumps(entry['genotype']), step)


def _recorder(model, history):
    """The core's AlphaRecorder filled with the logged epochs (labels: op names, B<k> for cell inputs)."""
    import torch
    from srnas.nas.recorder import AlphaRecorder
    op_names = dict(model.net_g.arch_op_names())
    for name in op_names:
        if name.startswith('beta_'):
            op_names[name] = [f'B{k}' for k in range(1, int(name.split('_')[1]))]
    recorder = AlphaRecorder(op_names)
    for entry in history:
        probs = {name: torch.tensor(value) for name, value in entry['softmax'].items()}
        recorder.record(entry['epoch'], probs=probs, genotype=entry['genotype'],
                        val_loss=entry['losses'].get('l_arch'))
    return recorder


def _plot(recorder, out_dir):
    """One PNG per searched position: alpha rows (op choice) and DLSR betas (cell inputs)."""
    paths = []
    last = recorder.entries[-1]['probs']
    for name, value in last.items():
        rows = len(value) if value and isinstance(value[0], list) else 1
        for row in range(rows):
            label = f'{name}_{row + 1}' if rows > 1 else name
            title = f'softmax({name}) of position {row + 1}' if rows > 1 else f'softmax({name})'
            paths.append(recorder.plot(Path(out_dir) / f'{label}.png', name, row, title=title))
    return paths
