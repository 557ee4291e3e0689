"""Host time of MixedOp's lean weighted sum, now against another checkout's and against the plain graph (issue 10).

    git archive main | tar -x -C /tmp/before
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/lean_sum_ab.py --before-root /tmp/before --space darts \
        --batch 2 --image-size 8 --steps 30

One supernet, one process: each forward + backward step runs with one of three sums, in turns (order reversed
every other turn): ``before`` (``lean_weighted_sum`` of the other checkout's srnas/nas/lean_autograd.py, loaded
from its file), ``now`` (this checkout's) and ``plain`` (``lean_autograd = False``). Only the sum changes, so the
ratios are the sum's cost; process CPU time, median of the per-turn ratios against ``before``. Batch 2, 8x8 is the
host-overhead proxy of benchmarks/side_by_side.py (kernels' arithmetic small); batch 16, 32x32 the real size.
"""
import argparse
import importlib.util
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
import srnas.nas.mixed_op as mixed_op_module  # noqa: E402
from classification.darts.search_net import DartsSearchNetwork  # noqa: E402
from classification.nb201.search_net import NB201SearchNetwork  # noqa: E402
from srnas.nas import MixedOp  # noqa: E402

VARIANTS = ('before', 'now', 'plain')


def load_lean_sum(root: Path):
    path = root / 'srnas' / 'nas' / 'lean_autograd.py'
    if not path.is_file():
        raise SystemExit(f'lean_sum_ab: --before-root {root} has no srnas/nas/lean_autograd.py')
    spec = importlib.util.spec_from_file_location('before_lean_autograd', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # its imports (layout, nhwc_conv) resolve to this checkout's srnas
    return module.lean_weighted_sum


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--before-root', type=Path, required=True, help='another srnas checkout')
    parser.add_argument('--space', choices=('darts', 'pcdarts', 'nb201'), default='darts')
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--image-size', type=int, default=8)
    parser.add_argument('--steps', type=int, default=30, help='timed steps per variant')
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    if args.space == 'nb201':
        model = NB201SearchNetwork(channels=16, cells_per_stage=5, num_classes=10)
    else:
        k = 4 if args.space == 'pcdarts' else 1
        model = DartsSearchNetwork(channels=16, num_classes=10, layers=8, partial_k=k, edge_normalization=k > 1)
    model.train()
    mixed = [m for m in model.modules() if isinstance(m, MixedOp)]
    sums = {'before': load_lean_sum(args.before_root.resolve()), 'now': mixed_op_module.lean_weighted_sum,
            'plain': mixed_op_module.lean_weighted_sum}
    x = torch.randn(args.batch, 3, args.image_size, args.image_size)
    y = torch.randint(0, 10, (args.batch,))

    def step(variant):
        for module in mixed:
            module.lean_autograd = variant != 'plain'
        mixed_op_module.lean_weighted_sum = sums[variant]
        start = time.process_time()
        F.cross_entropy(model(x), y).backward()
        elapsed = time.process_time() - start
        model.zero_grad(set_to_none=True)
        return elapsed

    for variant in VARIANTS:
        step(variant)
    times = {variant: [] for variant in VARIANTS}
    for turn in range(args.steps):
        for variant in (VARIANTS if turn % 2 == 0 else VARIANTS[::-1]):
            times[variant].append(step(variant))
    mixed_op_module.lean_weighted_sum = sums['now']
    print(f'{args.space}, batch {args.batch}, {args.image_size}x{args.image_size}, {args.steps} steps each:')
    for variant in VARIANTS:
        ratio = statistics.median(a / b for a, b in zip(times[variant], times['before']))
        print(f'  {variant:<7} median {1e3 * statistics.median(times[variant]):8.1f} ms  '
              f'min {1e3 * min(times[variant]):8.1f} ms  / before {ratio:.3f}')


if __name__ == '__main__':
    main()
