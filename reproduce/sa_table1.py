"""SA-DARTS Table 1 and Fig. 4 on NAS-Bench-201 / CIFAR-10.

    python -m reproduce.sa_table1 --scale cpu

Table 1: at the end of search, the gap between the two largest softmax(alpha) entries on the edge where that gap is
smallest ("worst edge"), for DARTS, beta-DARTS and SA-DARTS, read from the final alphas of the
``reproduce.nb201_search`` runs at the same scale (run that script first).
Fig. 4: recovery from a skip-dominant start: alpha = [0, 0.1, 0, 0, 0] (+ the usual 1e-3 noise) on every edge, alpha
frozen for the first 15 of 50 epochs (warm-up), then DARTS, beta-DARTS and SAC-DARTS (SA-DARTS with ``--methods``)
search as usual.
Reported: softmax(alpha) of every op averaged over the 6 edges, per epoch, and the final cell's table accuracy.
"""
import argparse
import sys
from pathlib import Path

from reproduce.common import run_main
from reproduce.common import (NB201_TABLE, SCALES, TABLE_DATASETS, default_out, fmt_mean_std,
                              markdown_table, md_arch, read_json, require, save_figure, write_json)
from reproduce.nb201_search import CPU_SCALE, LABELS, PAPER_EPOCHS, SMOKE_SCALE, run_one
from classification.ops import NB201_PRIMITIVES
from srnas.nas.files import atomic_write_text

TABLE1_METHODS = ('darts_v1', 'beta', 'sa')
RECOVERY_METHODS = ('darts_v1', 'beta', 'sa', 'sac')
DEFAULT_RECOVERY = ('darts_v1', 'beta', 'sac')  # the paper's Fig. 4 trio (its L2 curve is not reproduced)
SKIP_OFFSET = {'skip_connect': 0.1}
PAPER_WARMUP = 15
SEEDS = {'smoke': 1, 'cpu': 1, 'paper': 3}
# SA-DARTS Table 1: top-2 softmax gap on the worst edge at epoch 50, 10 trials: (converged?, mean, std)
PAPER_TABLE1 = {'darts_v1': ('No', 6e-2, 3e-2), 'beta': ('Yes', 1e-3, 5e-4), 'sa': ('Yes', 1e-2, 2e-3)}


def worst_edge_gap(probs):
    """(edge, top-1 minus top-2 softmax value) of the edge where that difference is smallest."""
    gaps = []
    for edge, row in enumerate(probs):
        top = sorted(row, reverse=True)
        gaps.append((top[0] - top[1], edge))
    gap, edge = min(gaps)
    return edge, gap


def stable_since(result):
    """First epoch (1-based) from which the per-epoch derived cell no longer changed."""
    genotypes = [e['genotype'] for e in result['epochs']]
    since = len(genotypes)
    while since > 1 and genotypes[since - 2] == genotypes[-1]:
        since -= 1
    return since


def table1(search_dir):
    rows = {}
    for method in TABLE1_METHODS:
        runs = [read_json(p) for p in sorted((search_dir / 'runs').glob(f'{method}_seed*.result.json'))]
        runs = [r for r in runs if r.get('final_probs')]
        if runs:
            gaps = [worst_edge_gap(r['final_probs']) for r in runs]
            rows[method] = {'seeds': [r['seed'] for r in runs], 'worst_edge': [g[0] for g in gaps],
                            'gap': [g[1] for g in gaps], 'stable_since_epoch': [stable_since(r) for r in runs],
                            'epochs': len(runs[0]['epochs'])}
    return rows


def mean_probs_per_epoch(result):
    """Per epoch: softmax(alpha) of each op averaged over the 6 edges."""
    return [[sum(row[o] for row in probs) / len(probs) for o in range(len(NB201_PRIMITIVES))]
            for probs in result['probs_per_epoch']]


def plot_recovery(runs, path, warmup):
    from matplotlib.figure import Figure
    fig = Figure(figsize=(3.2 * len(runs), 3))
    for i, r in enumerate(runs):
        ax = fig.add_subplot(1, len(runs), i + 1)
        series = mean_probs_per_epoch(r)
        epochs = range(1, len(series) + 1)
        for o, name in enumerate(NB201_PRIMITIVES):
            ax.plot(epochs, [s[o] for s in series], lw=1, label=name)
        ax.axvline(warmup + 0.5, color='grey', ls=':', lw=0.8)
        ax.set_title(f"{LABELS[r['method']]} (C10 {r['final']['table'].get('cifar10', float('nan')):.1f})", fontsize=8)
        ax.set_xlabel('epoch')
        if i == 0:
            ax.set_ylabel('softmax(alpha), mean over edges')
            ax.legend(fontsize=6)
    save_figure(fig, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--scale', choices=SCALES, default='cpu')
    parser.add_argument('--out', type=Path, default=None, help='output folder (default reproduce/results/sa_table1)')
    parser.add_argument('--search-results', type=Path, default=None,
                        help='nb201_search output folder (default reproduce/results/nb201_search)')
    parser.add_argument('--seeds', type=int, default=None, help='seeds of the skip-dominant recovery runs')
    parser.add_argument('--methods', nargs='+', choices=RECOVERY_METHODS, default=list(DEFAULT_RECOVERY))
    parser.add_argument('--benchmark', type=Path, default=NB201_TABLE)
    args = parser.parse_args(argv)
    out = args.out or default_out('sa_table1')
    search_dir = args.search_results or out.parent / 'nb201_search'
    require(args.benchmark, 'NAS-Bench-201 table')
    epochs = {'cpu': CPU_SCALE, 'smoke': SMOKE_SCALE}.get(args.scale, {'epochs': PAPER_EPOCHS})['epochs']
    warmup = round(PAPER_WARMUP * epochs / PAPER_EPOCHS)
    extra = {'space': {'alpha_offset': SKIP_OFFSET}, 'architect': {'warmup_epochs': warmup}}
    gaps = table1(search_dir)
    recovery = []
    write_report(out, args.scale, gaps, recovery, warmup, search_dir)  # Table 1 needs no new run
    for seed in range(args.seeds or SEEDS[args.scale]):
        for method in args.methods:
            recovery.append(run_one(method, seed, args.scale, out, args.benchmark, extra=extra,
                                    tag=f'skipinit_{method}'))
            write_report(out, args.scale, gaps, recovery, warmup, search_dir)
    return 0


def write_report(out, scale, gaps, recovery, warmup, search_dir):
    text = f'# SA-DARTS Table 1 and Fig. 4 on NAS-Bench-201 / CIFAR-10, scale `{scale}`\n\n'
    text += (f'Table 1: top-1 minus top-2 softmax(alpha) on the worst edge at the end of search (from {search_dir.name}'
             ' runs), mean ± std over seeds; paper: 10 trials at epoch 50.\n\n')
    text += markdown_table(
        ['method', 'runs', 'worst-edge gap', 'cell stable since epoch', 'paper converges', 'paper gap'],
        [[LABELS[m], len(v['gap']), fmt_mean_std(v['gap'], 4),
          ', '.join(f"{s}/{v['epochs']}" for s in v['stable_since_epoch']),
          PAPER_TABLE1[m][0], f'{PAPER_TABLE1[m][1]:.0e} ± {PAPER_TABLE1[m][2]:.0e}'] for m, v in gaps.items()])
    if recovery:
        text += (f'\nFig. 4: skip-dominant start (alpha_skip + 0.1 on every edge), alpha frozen for the first {warmup} '
                 'epochs. Final softmax(alpha) averaged over edges, final cell and its table accuracy:\n\n')
        rows = []
        for r in recovery:
            final = mean_probs_per_epoch(r)[-1]
            rows.append([LABELS[r['method']], r['seed']] + [f'{p:.3f}' for p in final] +
                        [md_arch(r['final']['arch'])] + [r['final']['table'].get(d) for d in TABLE_DATASETS])
        text += markdown_table(['method', 'seed'] + [f'p({n})' for n in NB201_PRIMITIVES] + ['final cell'] +
                               list(TABLE_DATASETS), rows)
        plot_recovery(recovery, out / 'fig4_skip_init_recovery.png', warmup)
    write_json(out / 'results.json', {'scale': scale, 'table1': gaps, 'recovery': recovery, 'warmup_epochs': warmup,
                                      'paper_table1': PAPER_TABLE1})
    atomic_write_text(out / 'results.md', text)


if __name__ == '__main__':
    sys.exit(run_main(main))
