"""NAS-Bench-201 / CIFAR-10 searches of six differentiable methods, scored by the NB201 table (A2M Table 1, SA-DARTS
Table 6).

    python -m reproduce.nb201_search --scale cpu      # about 5 min per method-seed on one CPU thread
    python -m reproduce.nb201_search --scale paper    # the papers' settings (GPU)

Every method starts from its paper option file in ``options/classification/`` (the "paper" scale runs them as they
are); the CPU scale shrinks data, network and epochs and rescales what depends on the number of steps (see
``CPU_SCALE`` and docs/reproduce.md). Each method-seed is one ``python -m classification search`` subprocess; its
per-epoch derived cell is looked up in the NB201 table (200-epoch test accuracy, used only to report).
Runs are seed-major (every method for seed 0, then seed 1, ...) and a method-seed whose ``genotype.json`` exists is
not run again, so an interrupted invocation resumes where it stopped.
"""
import argparse
import copy
import sys
import time
from pathlib import Path

from classification.nb201.arch import parse

from srnas.nas.files import atomic_write_text
from srnas.utils.options import read_yaml
from reproduce.common import ReproduceError, run_main
from reproduce.common import (CIFAR10_JPG, NB201_TABLE, REPO, SCALES, TABLE_DATASETS, default_out,
                              fmt_mean_std, markdown_table, md_arch, mean_std, read_json, read_search_run, require,
                              run_cli_search, save_figure, write_json, write_yaml)

# method -> (paper option file, changes that define the method on top of it)
METHODS = {
    'darts_v1': ('nb201_search_cifar10_darts.yml', {}),
    'sa': ('nb201_search_cifar10_sa.yml', {}),
    'sac': ('nb201_search_cifar10_sa.yml', {'space': {'partial_k': 4}}),  # SA + PC-DARTS partial channels (K=4)
    'beta': ('nb201_search_cifar10_beta.yml', {}),
    'a2m': ('nb201_search_cifar10_a2m.yml', {}),
    'pc_a2m': ('nb201_search_cifar10_pc_a2m.yml', {}),
}
LABELS = {'darts_v1': 'DARTS-V1 (1st order)', 'sa': 'SA-DARTS', 'sac': 'SAC-DARTS', 'beta': 'beta-DARTS',
          'a2m': 'A2M (A2-DARTS)', 'pc_a2m': 'PC + A2M'}
PAPER_EPOCHS = 50
PAPER_STEPS_PER_EPOCH = 25000 // 64  # half of the CIFAR-10 training set, batch 64

# Reductions for one CPU thread. Everything else keeps the method's paper value.
CPU_SCALE = {'resize': 16, 'channels': 8, 'cells_per_stage': 1, 'images_per_half': 2500, 'batch_size': 64,
             'epochs': 10}
SMOKE_SCALE = {'resize': 8, 'channels': 4, 'cells_per_stage': 1, 'images_per_half': 64, 'batch_size': 32,
               'epochs': 2}
SEEDS = {'smoke': 1, 'cpu': 3, 'paper': 3}

# Published NB201 test accuracies (200 epochs): mean, std; None where the paper has no such row.
PAPER = {
    # A2M Table 1 (5 seeds; DARTS without augmentation of the validation batches): Standard / A2-enhanced rows
    'A2M Table 1': {
        'darts_v1': {'cifar10': (72.85, 35.21), 'cifar100': (49.44, 27.39), 'ImageNet16-120': (26.24, 15.33)},
        'a2m': {'cifar10': (92.39, 0.52), 'cifar100': (68.79, 1.61), 'ImageNet16-120': (41.88, 2.21)},
        'beta': {'cifar10': (94.15, 0.29), 'cifar100': (72.77, 0.83), 'ImageNet16-120': (45.66, 0.92)},
        'pc_a2m': {'cifar10': (91.95, 0.16), 'cifar100': (66.47, 0.40), 'ImageNet16-120': (39.59, 0.97)},
    },
    # SA-DARTS Table 6 (10 seeds)
    'SA-DARTS Table 6': {
        'darts_v1': {'cifar10': (54.30, 0.0), 'cifar100': (15.61, 0.0), 'ImageNet16-120': (16.32, 0.0)},
        'sa': {'cifar10': (94.36, 0.0), 'cifar100': (73.51, 0.0), 'ImageNet16-120': (46.34, 0.0)},
        'sac': {'cifar10': (94.36, 0.0), 'cifar100': (73.51, 0.0), 'ImageNet16-120': (46.34, 0.0)},
        'beta': {'cifar10': (94.36, 0.0), 'cifar100': (73.51, 0.0), 'ImageNet16-120': (46.34, 0.0)},
    },
}
PARAMETER_FREE = ('none', 'skip_connect', 'avg_pool_3x3')
OPTIMAL = {'cifar10': 94.37, 'cifar100': 73.51, 'ImageNet16-120': 47.31}  # best cell of the table (test)


def _merge(base, changes):
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _scale_schedule(reg, factor):
    """Stretch an epoch schedule so that the coefficient at the last epoch equals the paper's (``factor`` =
    paper epochs / our epochs)."""
    schedule = dict(reg.get('schedule') or {})
    if schedule.get('type') == 'epoch_over_k':
        schedule['k'] = schedule['k'] / factor
    elif schedule.get('type') == 'linear':
        schedule['slope'] = schedule['slope'] * factor
    if schedule:
        reg = {**reg, 'schedule': schedule}
    return reg


def reduced_options(opt, scale):
    """The CPU (or smoke) reduction of one paper option file; see docs/reproduce.md for the reasons."""
    s = CPU_SCALE if scale == 'cpu' else SMOKE_SCALE
    epochs = s['epochs']
    steps = s['images_per_half'] // s['batch_size']
    opt = _merge(opt, {
        'space': {'channels': s['channels'], 'cells_per_stage': s['cells_per_stage']},
        'data': {'name': 'cifar10_jpg', 'root': str(CIFAR10_JPG), 'resize': s['resize'], 'subset': s['images_per_half'],
                 'batch_size': s['batch_size'], 'eval_batch_size': 500, 'num_workers': 0, 'verify_md5': True},
        'train': {'epochs': epochs},
    })
    data = opt['data']
    if data.get('cutout'):  # SA-DARTS' cutout 16 on 32x32 images covers the same fraction at the reduced size
        data['cutout'] = max(1, data['cutout'] * s['resize'] // 32)
    # Adam moves alpha by about lr per step whatever the gradient's size, so with ~25x fewer alpha steps the paper's
    # lr would leave softmax(alpha) near uniform: keep the paper's total alpha displacement (lr x steps).
    step_factor = (PAPER_EPOCHS * PAPER_STEPS_PER_EPOCH) / (epochs * steps)
    arch = opt['architect']
    arch['optimizer'] = {**arch['optimizer'], 'lr': arch['optimizer']['lr'] * step_factor}
    epoch_factor = PAPER_EPOCHS / epochs
    arch['regularizers'] = [_scale_schedule(r, epoch_factor) for r in arch.get('regularizers') or []]
    if arch.get('warmup_epochs'):
        arch['warmup_epochs'] = round(arch['warmup_epochs'] / epoch_factor)
    search = opt.get('search') or {}
    if search.get('early_stopping_patience'):
        search['early_stopping_patience'] = max(1, round(search['early_stopping_patience'] / epoch_factor))
    return opt


def build_options(method, seed, scale, out_dir, benchmark, data_root=None, extra=None):
    option_file, changes = METHODS[method]
    opt = read_yaml(REPO / 'options' / 'classification' / option_file)  # resolves base:
    opt = _merge(opt, changes)
    if scale != 'paper':
        opt = reduced_options(opt, scale)
    elif data_root is not None:
        opt['data']['root'] = str(data_root)
    if extra:
        opt = _merge(opt, extra)
    opt.update({'name': f'{method}_seed{seed}', 'manual_seed': seed, 'output_root': str(out_dir / 'runs'),
                'num_gpu': 0 if scale != 'paper' else 'auto', 'threads': 1 if scale != 'paper' else None})
    opt['benchmark'] = {'path': str(benchmark), 'datasets': list(TABLE_DATASETS), 'hp': '200'}
    return opt


def run_one(method, seed, scale, out_dir, benchmark, data_root=None, extra=None, tag=None):
    """Run (or reuse) one method-seed; returns its parsed result."""
    name = f'{method}_seed{seed}' if tag is None else f'{tag}_seed{seed}'
    run_dir = out_dir / 'runs' / name
    result_file = out_dir / 'runs' / f'{name}.result.json'
    if result_file.is_file():
        result = read_json(result_file)
        if result.get('scale') != scale:  # a smoke run must not reuse (and re-report) a cpu run, nor the reverse
            raise ReproduceError(f"{result_file} holds a --scale {result.get('scale')} run, not {scale}: "
                                 'pass --out with another folder')
        return result
    opt = build_options(method, seed, scale, out_dir, benchmark, data_root, extra)
    opt['name'] = name
    if run_dir.exists():  # an interrupted earlier attempt: start it afresh
        for path in sorted(run_dir.rglob('*'), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
    option_file = out_dir / 'options' / f'{name}.yml'
    write_yaml(option_file, opt)
    print(f'[{time.strftime("%H:%M:%S")}] {name}: searching ({option_file})', flush=True)
    seconds = run_cli_search(option_file, out_dir / 'runs' / f'{name}.log')
    parsed = read_search_run(run_dir)
    result = {'method': method, 'seed': seed, 'scale': scale, 'wall_seconds': seconds, **parsed,
              'options': str(option_file.relative_to(out_dir))}
    write_json(result_file, result)
    print(f'[{time.strftime("%H:%M:%S")}] {name}: {seconds:.0f}s, final {parsed["final"]["arch"]} '
          f'cifar10 {parsed["final"]["table"].get("cifar10")}', flush=True)
    return result


def summarise(results):
    """Per method: mean/std over seeds of the final cell's table accuracies, wall time, raw finals."""
    summary = {}
    for method in METHODS:
        runs = [r for r in results if r['method'] == method]
        if not runs:
            continue
        entry = {'seeds': [r['seed'] for r in runs], 'wall_seconds': mean_std([r['wall_seconds'] for r in runs])}
        for dataset in TABLE_DATASETS:
            values = [r['final']['table'].get(dataset) for r in runs]
            entry[dataset] = {'values': values, 'mean_std': mean_std(values)}
        entry['finals'] = [r['final']['arch'] for r in runs]
        summary[method] = entry
    return summary


def _paper_cell(method, dataset):
    cells = []
    for source, rows in PAPER.items():
        if method in rows and dataset in rows[method]:
            mean, std = rows[method][dataset]
            cells.append(f'{mean:.2f} ± {std:.2f} ({source.split()[0]})')
    return '; '.join(cells) or '-'


def markdown(summary, results, scale, random_summary=None):
    header = ['method', 'seeds', 'CIFAR-10', 'CIFAR-100', 'ImageNet16-120', 'wall s / run', 'paper CIFAR-10',
              'paper CIFAR-100', 'paper ImageNet16-120']
    rows = []
    for method, entry in summary.items():
        wall = entry['wall_seconds'][0]
        rows.append([LABELS[method], len(entry['seeds'])] +
                    [fmt_mean_std(entry[d]['values']) for d in TABLE_DATASETS] +
                    [f'{wall:.0f}'] + [_paper_cell(method, d) for d in TABLE_DATASETS])
    text = (f'# NAS-Bench-201 searches on CIFAR-10, scale `{scale}`\n\n'
            'Test accuracy (%, NB201 table, 200 epochs) of the cell each search returns, mean ± std over seeds. '
            f'Best cell of the table: {OPTIMAL["cifar10"]} / {OPTIMAL["cifar100"]} / {OPTIMAL["ImageNet16-120"]}.\n\n')
    text += markdown_table(header, rows)
    if random_summary:
        text += '\nRandom baselines (`reproduce/nb201_random.py`):\n\n' + random_summary
    text += ('\nPer run: final cell, its CIFAR-10 table accuracy, the epoch it comes from (0-based), and how many of '
             'its 6 edges are parameter-free (none, skip, pool: the DARTS collapse shows as 6):\n\n')
    text += markdown_table(['method', 'seed', 'final cell', 'index', 'CIFAR-10', 'chosen epoch', 'param-free edges',
                            'wall s'],
                           [[LABELS[r['method']], r['seed'], md_arch(r['final']['arch']), r['final']['index'],
                             _two(r['final']['table'].get('cifar10')), r['final']['epoch'],
                             parameter_free_edges(r['final']['arch']), f"{r['wall_seconds']:.0f}"] for r in results])
    return text


def parameter_free_edges(arch):
    return sum(op in PARAMETER_FREE for op in parse(arch))


def _two(value):
    return 'n/a' if value is None else f'{value:.2f}'


def plot_method(method, runs, path, random_mean=None):
    from matplotlib.figure import Figure
    fig = Figure(figsize=(5, 3.2))
    ax = fig.add_subplot(111)
    for r in runs:
        epochs = [e['epoch'] + 1 for e in r['epochs']]
        ax.plot(epochs, [e['table'].get('cifar10') for e in r['epochs']], lw=0.8, marker='.', label=f"seed {r['seed']}")
    ax.axhline(OPTIMAL['cifar10'], color='grey', ls=':', lw=0.8, label='best cell')
    if random_mean is not None:
        ax.axhline(random_mean, color='grey', ls='--', lw=0.8, label='mean of all cells')
    ax.set_xlabel('search epoch')
    ax.set_ylabel('CIFAR-10 test acc. of derived cell (%)')
    ax.set_title(LABELS[method])
    ax.legend(fontsize=7)
    save_figure(fig, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--scale', choices=SCALES, default='cpu')
    parser.add_argument('--out', type=Path, default=None, help='output folder (default reproduce/results/nb201_search)')
    parser.add_argument('--methods', nargs='+', choices=list(METHODS), default=list(METHODS))
    parser.add_argument('--seeds', type=int, default=None, help='number of seeds (default: 3; smoke: 1)')
    parser.add_argument('--benchmark', type=Path, default=NB201_TABLE, help='NB201 table / .pth / NATS directory')
    parser.add_argument('--data-root', type=Path, default=None, help='paper scale: CIFAR-10 python pickles')
    args = parser.parse_args(argv)
    out = args.out or default_out('nb201_search')
    require(args.benchmark, 'NAS-Bench-201 table')
    if args.scale != 'paper':
        require(CIFAR10_JPG, 'CIFAR-10 JPEG copy')
    n_seeds = args.seeds or SEEDS[args.scale]
    results = []
    for seed in range(n_seeds):  # seed-major: partial results stay balanced across methods
        for method in args.methods:
            results.append(run_one(method, seed, args.scale, out, args.benchmark, args.data_root))
            report(results, args.scale, out)
    return 0


def report(results, scale, out):
    """(Re)write results.json, results.md and one plot per method from everything finished so far."""
    summary = summarise(results)
    random_md = random_mean = None
    random_json = out.parent / 'nb201_random' / 'results.json'
    if random_json.is_file() and scale != 'smoke':
        random_md = read_json(random_json).get('markdown')
        random_mean = read_json(random_json)['distribution']['cifar10']['mean']
    write_json(out / 'results.json', {'scale': scale, 'reductions': CPU_SCALE if scale == 'cpu' else
                                      (SMOKE_SCALE if scale == 'smoke' else None),
                                      'summary': summary, 'runs': results, 'paper': PAPER})
    atomic_write_text(out / 'results.md', markdown(summary, results, scale, random_md))
    for method in summary:
        plot_method(method, [r for r in results if r['method'] == method], out / f'{method}_cifar10_vs_epoch.png',
                    random_mean)


if __name__ == '__main__':
    sys.exit(run_main(main))
