"""Host time of the per-step bookkeeping that walks a supernet's modules, and of restoring its buffers (issue 10).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/host_walks.py [--space darts|pcdarts|nb201] [--repeats 20]

A DARTS supernet (C=16, 8 cells) has about 4900 modules; ``model.weights()``, ``model.arch_parameters()`` and
``model.buffers()`` each walk all of them in Python. Before, the search loop walked twice per weight step (the
weights to clip, the alphas to clear) and the architect three times per alpha step (buffers, weights to freeze),
then cloned and copied back every buffer one by one. Now the architect holds the weight and alpha lists, and
keeps its buffer copies between steps (``BufferKeeper``: one foreach copy each way). Printed: milliseconds per
call, median of ``--repeats`` (process CPU time, one thread), and the ATen calls of the two ways to restore the
buffers.
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / 'benchmarks'))
from aten_op_count import AtenOpCounter  # noqa: E402
from classification.darts.search_net import DartsSearchNetwork  # noqa: E402
from classification.nb201.search_net import NB201SearchNetwork  # noqa: E402
from srnas.nas.architects.gradients import BufferKeeper  # noqa: E402


def build(space):
    if space == 'nb201':
        return NB201SearchNetwork(channels=16, cells_per_stage=5, num_classes=10)
    return DartsSearchNetwork(channels=16, num_classes=10, layers=8, partial_k=4 if space == 'pcdarts' else 1,
                              edge_normalization=space == 'pcdarts')


def per_call_ms(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return 1e3 * statistics.median(times)


def clone_and_copy_back(model):
    """What the architect did before: a clone of every buffer, then a copy back of each."""
    buffers = [b for b in model.buffers() if b is not None]
    saved = [b.detach().clone() for b in buffers]
    with torch.no_grad():
        for buffer, value in zip(buffers, saved):
            buffer.copy_(value)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--space', choices=('darts', 'pcdarts', 'nb201'), default='darts')
    parser.add_argument('--repeats', type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    model = build(args.space).train()
    keeper = BufferKeeper()

    def keep():
        with keeper.restored(model):
            pass

    print(f'{args.space}: {sum(1 for _ in model.modules())} modules, {sum(1 for _ in model.buffers())} buffers, '
          f'{len(model.weights())} weight tensors')
    rows = [('model.weights()', lambda: model.weights()),
            ('model.arch_parameters()', lambda: model.arch_parameters()),
            ('model.buffers() walk', lambda: [b for b in model.buffers()]),
            ('buffers: clone + copy back, one by one (before)', lambda: clone_and_copy_back(model)),
            ('buffers: BufferKeeper, walk + 2 foreach copies (now)', keep)]
    for label, fn in rows:
        print(f'  {label:<54} {per_call_ms(fn, args.repeats):7.2f} ms')
    for label, fn in rows[3:]:
        with AtenOpCounter() as count:
            fn()
        print(f'  ATen calls, {label:<42} {count.total}')


if __name__ == '__main__':
    main()
