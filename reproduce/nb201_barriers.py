"""A2M Fig. 6 on the full NAS-Bench-201 table: accuracy barriers between neighbouring cells.

A2M §5.1.1 reports, per data set, the barrier between two architectures of high, medium and low
accuracy and a neighbour of theirs. The paper does not list its pairs, so this script fixes a
rule and reports it: per data set and tier (the best cell; the median cell; the 5th-percentile
cell, by that data set's 200-epoch test accuracy), the radius-``r`` neighbour of closest accuracy,
and the A2M barrier (1/2 (A + B) - min of the level means over all shortest paths) between them;
the mean and spread of the barrier over every radius-``r`` neighbour is printed beside it, since
one hand-picked pair says little. It only reads the table: no training, seconds of CPU.
"""
import argparse
import statistics
import sys
from pathlib import Path

from classification.nb201.arch import meta_archs
from classification.nb201.benchmark import open_benchmark
from classification.nb201.landscape import a2m_barrier, neighbours
from reproduce.common import (NB201_TABLE, TABLE_DATASETS, default_out, markdown_table, md_arch, require,
                              write_json)
from srnas.nas.files import atomic_write_text

# A2M Fig. 6, high-accuracy pair (CIFAR-10 / CIFAR-100 / ImageNet16-120), as read from the paper.
PAPER_HIGH = {'cifar10': 0.24, 'cifar100': 1.74, 'ImageNet16-120': 1.42}
TIERS = (('high (best cell)', 1.0), ('medium (median cell)', 0.5), ('low (5th percentile)', 0.05))


def tier_cell(accuracies, quantile):
    """Index of the cell at ``quantile`` of the sorted accuracies (1.0 = the best)."""
    order = sorted(range(len(accuracies)), key=lambda i: accuracies[i])
    return order[min(len(order) - 1, round(quantile * (len(order) - 1)))]


def barriers_for(accuracies, archs, cell, radius):
    lookup = {arch: accuracies[i] for i, arch in enumerate(archs)}
    accuracy_of = lookup.__getitem__
    around = neighbours(archs[cell], radius)
    closest = min(around, key=lambda other: (abs(lookup[other] - accuracies[cell]), other))
    barrier, levels = a2m_barrier(accuracy_of, archs[cell], closest)
    spread = [a2m_barrier(accuracy_of, archs[cell], other)[0] for other in around]
    return {'cell': archs[cell], 'accuracy': accuracies[cell], 'neighbour': closest,
            'neighbour_accuracy': lookup[closest], 'barrier': barrier, 'levels': levels,
            'all_neighbours': {'count': len(spread), 'mean': statistics.fmean(spread),
                               'std': statistics.pstdev(spread), 'max': max(spread)}}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--benchmark', default=str(NB201_TABLE), help='nb201_tss_accuracy.csv')
    parser.add_argument('--radius', type=int, default=3, help='Hamming distance of the neighbour (default 3)')
    parser.add_argument('--out', default=str(default_out('nb201_barriers')))
    args = parser.parse_args(argv)
    table = open_benchmark(require(args.benchmark, 'NAS-Bench-201 accuracy table'))
    archs = meta_archs()
    results = {}
    for dataset in TABLE_DATASETS:
        accuracies = table.test_accuracies(dataset, '200')
        results[dataset] = {name: barriers_for(accuracies, archs, tier_cell(accuracies, q), args.radius)
                            for name, q in TIERS}
    rows = []
    for dataset, tiers in results.items():
        for name, r in tiers.items():
            n = r['all_neighbours']
            rows.append([dataset, name, md_arch(r['cell']), f"{r['accuracy']:.2f}", f"{r['neighbour_accuracy']:.2f}",
                         f"{r['barrier']:.2f}", f"{n['mean']:.2f} ± {n['std']:.2f} (max {n['max']:.2f}, n={n['count']})",
                         f"{PAPER_HIGH[dataset]:.2f}" if name.startswith('high') else '-'])
    text = (f'# A2M Fig. 6 on the full NAS-Bench-201 table (radius {args.radius})\n\n'
            'Barrier = 1/2 (Acc(A) + Acc(B)) - min over the path levels of the mean accuracy of the unique '
            'cells at that distance on all shortest paths (A2M §4.1.2, §5.1.1); 200-epoch test accuracy.\n\n'
            + markdown_table(['data set', 'tier', 'cell A', 'Acc(A)', 'Acc(B), closest neighbour', 'barrier A-B',
                              'barrier over all neighbours', 'paper (high)'], rows))
    out = Path(args.out)
    write_json(out / 'results.json', {'radius': args.radius, 'benchmark': args.benchmark, 'results': results})
    atomic_write_text(out / 'results.md', text)
    print(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
