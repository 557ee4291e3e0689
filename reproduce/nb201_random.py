"""Random baselines on NAS-Bench-201 / CIFAR-10: the bar every search must clear.

    python -m reproduce.nb201_random --scale cpu

1. The table-accuracy distribution of uniformly sampled cells, computed exactly over all 15,625 cells of the table.
2. Random search with the budget of one search of ``reproduce.nb201_search`` at the same scale: the search trains
   its supernet for E epochs on the train half; random search spends the same E epochs of training on the same
   train half, split over uniformly sampled cells (``epochs_per_cell`` each, a freshly initialised network of the
   search's reduced size), and keeps the cell with the best accuracy on the validation half. The table's test
   accuracy of that cell is reported, never used to choose. A second row gives random search 5x the epochs.
"""
import argparse
import random
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from classification.data.loaders import data_config, search_loaders
from classification.models import build_eval_model, forward_logits
from classification.nb201.arch import NUM_ARCHS, arch_index, arch_of_index
from classification.nb201.benchmark import open_benchmark
from reproduce.common import run_main
from reproduce.common import (CIFAR10_JPG, NB201_TABLE, SCALES, TABLE_DATASETS, ReproduceError, default_out,
                              fmt_mean_std, markdown_table, read_json, require, write_json)
from reproduce.nb201_search import CPU_SCALE, SMOKE_SCALE
from srnas.nas.files import atomic_write_text

EPOCHS_PER_CELL = {'smoke': 1, 'cpu': 2, 'paper': 5}
# Two budgets: 'epochs' = as many training epochs as one search (the search's E epochs / epochs_per_cell cells);
# 'wall' = 5x that (25 cells x 2 epochs at the CPU scale): a single cell trains several times faster than the
# supernet with its alpha steps, so this is still less wall time than one search (both are reported).
BUDGETS = ('epochs', 'wall')
WALL_FACTOR = 5
SEEDS = {'smoke': 1, 'cpu': 3, 'paper': 3}
PAPER_SEARCH = {'resize': None, 'channels': 16, 'cells_per_stage': 5, 'images_per_half': None, 'batch_size': 64,
                'epochs': 50}
PERCENTILES = (5, 25, 50, 75, 95)
# Short training of a sampled cell: the search's weight settings (SGD 0.025 cosine to 0.001, momentum 0.9, wd 3e-4,
# clip 5), restarted for each cell.
TRAIN = {'lr': 0.025, 'lr_min': 0.001, 'momentum': 0.9, 'weight_decay': 3e-4, 'grad_clip': 5.0}


def percentile(sorted_values, q):
    """Linear interpolation between closest ranks (numpy's default)."""
    pos = (len(sorted_values) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def table_distribution(bench):
    """Per dataset: mean, std, percentiles and max of the test accuracy of all cells (= a uniform random cell)."""
    out = {}
    for dataset in TABLE_DATASETS:
        values = sorted(bench.test_accuracies(dataset, '200'))
        out[dataset] = {'cells': len(values), 'mean': statistics.fmean(values), 'std': statistics.pstdev(values),
                        'max': values[-1], **{f'p{q}': percentile(values, q) for q in PERCENTILES}}
    return out


def _data_cfg(scale, s):
    if scale == 'paper':
        return data_config({'name': 'cifar10', 'root': 'datasets/cifar10', 'batch_size': s['batch_size'],
                            'eval_batch_size': 500, 'num_workers': 4})
    return data_config({'name': 'cifar10_jpg', 'root': str(CIFAR10_JPG), 'resize': s['resize'],
                        'subset': s['images_per_half'], 'batch_size': s['batch_size'], 'eval_batch_size': 500,
                        'num_workers': 0, 'valid_augment': False})


def train_and_validate(arch, loaders, s, epochs, seed, device):
    """Train ``arch`` from scratch for ``epochs`` on the train half; return its validation-half top-1 (%)."""
    train_loader, _, valid_loader, n_classes = loaders
    torch.manual_seed(seed)
    model = build_eval_model({'type': 'nb201', 'channels': s['channels'], 'cells_per_stage': s['cells_per_stage']},
                             arch, n_classes).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=TRAIN['lr'], momentum=TRAIN['momentum'],
                          weight_decay=TRAIN['weight_decay'])
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs * len(train_loader), eta_min=TRAIN['lr_min'])
    model.train()
    for _ in range(epochs):
        for x, y in train_loader:
            x, y = x.to(device), y.to(device)
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(forward_logits(model, x)[0], y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), TRAIN['grad_clip'])
            opt.step()
            sched.step()
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for x, y in valid_loader:
            logits = forward_logits(model, x.to(device))[0]
            correct += int((logits.argmax(1) == y.to(device)).sum())
            total += len(y)
    return 100.0 * correct / max(total, 1)


def random_search(seed, scale, s, bench, device, budget='epochs'):
    epochs_per_cell = EPOCHS_PER_CELL[scale]
    n_cells = max(1, s['epochs'] // epochs_per_cell) * (WALL_FACTOR if budget == 'wall' else 1)
    rng = random.Random(1000 + seed)
    loaders = search_loaders(_data_cfg(scale, s), seed)
    start = time.time()
    tried = []
    for i in range(n_cells):
        arch = arch_of_index(rng.randrange(NUM_ARCHS))
        valid = train_and_validate(arch, loaders, s, epochs_per_cell, seed * 100 + i, device)
        tried.append({'arch': arch, 'index': arch_index(arch), 'valid_top1': valid,
                      'table': {d: bench.query(arch, d)['test'] for d in TABLE_DATASETS}})
        print(f'[{time.strftime("%H:%M:%S")}] random ({budget}) seed {seed} cell {i + 1}/{n_cells}: valid {valid:.2f} '
              f'table cifar10 {tried[-1]["table"]["cifar10"]:.2f}', flush=True)
    chosen = max(tried, key=lambda t: t['valid_top1'])  # by its own validation accuracy only
    return {'seed': seed, 'budget': budget, 'cells': n_cells, 'epochs_per_cell': epochs_per_cell, 'tried': tried,
            'chosen': chosen, 'wall_seconds': time.time() - start}


def markdown(dist, runs_by_budget, scale):
    rows = [[d, f"{v['mean']:.2f} ± {v['std']:.2f}"] + [f"{v[f'p{q}']:.2f}" for q in PERCENTILES] + [f"{v['max']:.2f}"]
            for d, v in dist.items()]
    text = markdown_table(['uniform random cell', 'mean ± std'] + [f'p{q}' for q in PERCENTILES] + ['max'], rows)
    names = {'epochs': 'random search, same training epochs as one search',
             'wall': f'random search, {WALL_FACTOR}x the epochs of one search'}
    rows = [[names[budget], len(runs), f"{runs[0]['cells']} x {runs[0]['epochs_per_cell']}"] +
            [fmt_mean_std([r['chosen']['table'][d] for r in runs]) for d in TABLE_DATASETS] +
            [f"{statistics.fmean(r['wall_seconds'] for r in runs):.0f}"]
            for budget, runs in runs_by_budget.items() if runs]
    if rows:
        text += '\n' + markdown_table(['cell chosen by its validation-half accuracy', 'seeds', 'cells x epochs',
                                       'CIFAR-10', 'CIFAR-100', 'ImageNet16-120', 'wall s / run'], rows)
    return text


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--scale', choices=SCALES, default='cpu')
    parser.add_argument('--out', type=Path, default=None, help='output folder (default reproduce/results/nb201_random)')
    parser.add_argument('--seeds', type=int, default=None)
    parser.add_argument('--benchmark', type=Path, default=NB201_TABLE)
    parser.add_argument('--budgets', nargs='+', choices=BUDGETS, default=list(BUDGETS))
    args = parser.parse_args(argv)
    out = args.out or default_out('nb201_random')
    bench = open_benchmark(require(args.benchmark, 'NAS-Bench-201 table'))
    if not hasattr(bench, 'test_accuracies'):
        raise ReproduceError(f'{args.benchmark}: the distribution needs the CSV table (nb201_tss_accuracy.csv)')
    s = {'smoke': SMOKE_SCALE, 'cpu': CPU_SCALE, 'paper': PAPER_SEARCH}[args.scale]
    if args.scale != 'paper':
        require(CIFAR10_JPG, 'CIFAR-10 JPEG copy')
        torch.set_num_threads(1)
    device = torch.device('cuda' if args.scale == 'paper' and torch.cuda.is_available() else 'cpu')
    dist = table_distribution(bench)
    runs = {budget: [] for budget in args.budgets}
    for budget in args.budgets:  # the cheaper budget first: its result is the one the searches must clear
        for seed in range(args.seeds or SEEDS[args.scale]):
            suffix = '' if budget == 'epochs' else f'_{budget}'
            run_file = out / 'runs' / f'random_search{suffix}_seed{seed}.json'
            if run_file.is_file():
                runs[budget].append(read_json(run_file))
            else:
                runs[budget].append(random_search(seed, args.scale, s, bench, device, budget))
                write_json(run_file, runs[budget][-1])
            text = markdown(dist, runs, args.scale)
            write_json(out / 'results.json', {'scale': args.scale, 'search_budget': s, 'distribution': dist,
                                              'random_search': runs['epochs'] if 'epochs' in runs else [],
                                              'random_search_by_budget': runs, 'markdown': text})
            atomic_write_text(out / 'results.md', f'# NAS-Bench-201 random baselines, scale `{args.scale}`\n\n' + text)
    return 0


if __name__ == '__main__':
    sys.exit(run_main(main))
