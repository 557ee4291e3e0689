"""Time of MixedOp's lean autograd graph against a variant, alternating steps in one process (issue 10).

Builds the side-by-side supernet (C=16, 8 cells, batch 16, 32x32), deep-copies it, switches the copy
to the variant and alternates forward + backward steps of the two (order swapped every other pair);
prints the median process CPU time of each and their ratio. Variants: ``plain`` (the copy with
``lean_autograd = False``) or ``max_pool`` (the first model with ``recompute_max_pool_indices`` on,
against the lean graph alone).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/lean_graph_ab.py --space pcdarts --channels-last --steps 8
"""
import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from classification.darts.search_net import DartsSearchNetwork  # noqa: E402
from srnas.nas import MixedOp  # noqa: E402


def set_flag(model, name, value):
    for module in model.modules():
        if isinstance(module, MixedOp):
            setattr(module, name, value)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--space', choices=('darts', 'pcdarts'), default='darts')
    parser.add_argument('--channels-last', action='store_true')
    parser.add_argument('--variant', choices=('plain', 'max_pool'), default='plain')
    parser.add_argument('--steps', type=int, default=8)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    k = 4 if args.space == 'pcdarts' else 1
    first = DartsSearchNetwork(channels=16, num_classes=10, layers=8, partial_k=k, edge_normalization=k > 1,
                               channels_last=args.channels_last).train()
    second = copy.deepcopy(first)
    if args.variant == 'plain':
        set_flag(second, 'lean_autograd', False)
        labels = ('lean', 'plain')
    else:
        set_flag(first, 'recompute_max_pool_indices', True)
        labels = ('lean + max-pool recompute', 'lean')
    x, y = torch.randn(16, 3, 32, 32), torch.randint(0, 10, (16,))
    if args.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)

    def step(model):
        start = time.process_time()
        F.cross_entropy(model(x), y).backward()
        model.zero_grad(set_to_none=True)
        return time.process_time() - start

    step(first)
    step(second)
    times = ([], [])
    for i in range(args.steps):
        order = (0, 1) if i % 2 else (1, 0)
        for index in order:
            times[index].append(step((first, second)[index]))
    medians = [statistics.median(t) for t in times]
    print(f'{args.space} channels_last={args.channels_last}: {labels[0]} {medians[0]:.3f} s, '
          f'{labels[1]} {medians[1]:.3f} s, ratio {medians[0] / medians[1]:.3f}')


if __name__ == '__main__':
    main()
