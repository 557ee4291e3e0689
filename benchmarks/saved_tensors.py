"""Bytes autograd keeps for backward in one forward of a supernet, by distinct storage (issue 10).

Counts every tensor saved for backward through ``torch.autograd.graph.saved_tensors_hooks``, each
storage once, for the side-by-side configurations (batch 16, 32x32, C=16; DARTS 8 cells, PC-DARTS K=4
with edge normalisation, NB201 N=5). No module hooks: a hooked candidate is called whole by MixedOp.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/saved_tensors.py --space darts [--plain] [--channels-last]
"""
import argparse
import collections
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from classification.darts.search_net import DartsSearchNetwork  # noqa: E402
from classification.nb201.search_net import NB201SearchNetwork  # noqa: E402
from srnas.nas import MixedOp  # noqa: E402


def build(space, channels_last):
    if space == 'nb201':
        return NB201SearchNetwork(channels=16, cells_per_stage=5, num_classes=10, channels_last=channels_last)
    k = 4 if space == 'pcdarts' else 1
    return DartsSearchNetwork(channels=16, num_classes=10, layers=8, partial_k=k, edge_normalization=k > 1,
                              channels_last=channels_last)


def saved_bytes_by_dtype(model, batch):
    sizes, by_dtype = {}, collections.Counter()

    def pack(t):
        storage = t.untyped_storage()
        if storage.data_ptr() not in sizes:
            sizes[storage.data_ptr()] = storage.nbytes()
            by_dtype[str(t.dtype).replace('torch.', '')] += storage.nbytes()
        return t
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        F.cross_entropy(model(batch[0]), batch[1])
    return by_dtype


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--space', choices=('darts', 'pcdarts', 'nb201'), default='darts')
    parser.add_argument('--plain', action='store_true', help='MixedOp.lean_autograd off (the plain graph)')
    parser.add_argument('--recompute-max-pool', action='store_true', help='MixedOp.recompute_max_pool_indices on')
    parser.add_argument('--channels-last', action='store_true')
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = build(args.space, args.channels_last).train()
    for module in model.modules():
        if isinstance(module, MixedOp):
            module.lean_autograd = not args.plain
            module.recompute_max_pool_indices = args.recompute_max_pool
    batch = torch.randn(16, 3, 32, 32), torch.randint(0, 10, (16,))
    by_dtype = saved_bytes_by_dtype(model, batch)
    mib = {dtype: round(n / 2**20, 1) for dtype, n in by_dtype.items()}
    print(f'{args.space} plain={args.plain} max_pool_recompute={args.recompute_max_pool} '
          f'channels_last={args.channels_last}: saved {sum(by_dtype.values()) / 2**20:.1f} MiB {mib}')


if __name__ == '__main__':
    main()
