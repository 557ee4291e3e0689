"""Where the time of a DARTS supernet step goes: a per-op (aten) torch.profiler table, CPU, one thread.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/profile_supernet.py [--step fwd_bwd|first_order]
        [--primitives 8|7] [--partial-k 4] [--naive] [--plain] [--channels-last] [--bf16] [--by-shape]
        [--top 20] [--json out.json]

The supernet is ``classification.darts.search_net.DartsSearchNetwork`` (C=16,
8 cells, 4 nodes, batch 16, 32x32, 10 classes), as in benchmarks/side_by_side.py.
One warm-up step, then ``--steps`` profiled steps; the table gives each aten
op's self CPU time (time inside the op minus its children) summed over the
profiled steps, its share of the total and its call count. ``--naive`` turns
the zero-op skip off (every candidate computed, as before that speed-up);
``--plain`` turns MixedOp's lean autograd graph off. ``--partial-k K`` profiles
the PC-DARTS supernet (K > 1, with edge normalisation). ``--by-shape`` splits
each op's row by its input shapes (which tensors the time is spent on).
"""
import argparse
import contextlib
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from classification.darts.search_net import DartsSearchNetwork  # noqa: E402
from classification.ops import DARTS_PRIMITIVES_NO_NONE  # noqa: E402
from srnas.nas import MixedOp  # noqa: E402
from srnas.nas.architects import Architect  # noqa: E402
from srnas.nas.files import write_mapping  # noqa: E402


def build_step(args):
    torch.manual_seed(0)
    kwargs = {} if args.primitives == 8 else {'primitives': DARTS_PRIMITIVES_NO_NONE}
    if args.partial_k > 1:
        kwargs.update(partial_k=args.partial_k, edge_normalization=True)
    model = DartsSearchNetwork(channels=16, num_classes=10, layers=8, **kwargs).train()
    for module in model.modules():
        if isinstance(module, MixedOp):
            module.skip_zero_candidates = not args.naive
            module.lean_autograd = not args.plain
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(args.batch, 3, 32, 32, generator=gen), torch.randint(0, 10, (args.batch,), generator=gen)
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    autocast = (lambda: torch.autocast('cpu', dtype=torch.bfloat16)) if args.bf16 else contextlib.nullcontext

    def loss_fn(net, batch):
        with autocast():
            return F.cross_entropy(net(batch[0]), batch[1])

    if args.step == 'fwd_bwd':
        def step():
            model.zero_grad(set_to_none=True)
            loss_fn(model, (x, y)).backward()
        return step
    arch = Architect(model, loss_fn, {'type': 'first_order'})
    return lambda: arch.step((x, y), epoch=0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--step', choices=('fwd_bwd', 'first_order'), default='fwd_bwd')
    parser.add_argument('--primitives', type=int, choices=(7, 8), default=8)
    parser.add_argument('--batch', type=int, default=16)
    parser.add_argument('--steps', type=int, default=2)
    parser.add_argument('--partial-k', type=int, default=1, help='PC-DARTS K (> 1: with edge normalisation)')
    parser.add_argument('--naive', action='store_true', help='compute the none candidate (no zero-op skip)')
    parser.add_argument('--plain', action='store_true', help="MixedOp's plain autograd graph (lean graph off)")
    parser.add_argument('--channels-last', action='store_true')
    parser.add_argument('--bf16', action='store_true', help='bf16 autocast around the loss')
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--by-shape', action='store_true', help="one row per (op, input shapes)")
    parser.add_argument('--top', type=int, default=20)
    parser.add_argument('--json', type=Path)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    step = build_step(args)
    step()  # warm-up
    with profile(activities=[ProfilerActivity.CPU], record_shapes=args.by_shape) as prof:
        for _ in range(args.steps):
            step()
    events = [e for e in prof.key_averages(group_by_input_shape=args.by_shape) if e.self_cpu_time_total > 0]
    total_us = sum(e.self_cpu_time_total for e in events)
    events.sort(key=lambda e: e.self_cpu_time_total, reverse=True)
    rows = [{'op': e.key + (f' {e.input_shapes}' if args.by_shape else ''), 'self_cpu_ms_per_step': e.self_cpu_time_total / 1e3 / args.steps,
             'share': e.self_cpu_time_total / total_us, 'calls_per_step': e.count / args.steps} for e in events]
    print(f'{args.step}, {args.primitives} ops, K={args.partial_k}, batch {args.batch}, {args.threads} thread(s), '
          f'naive={args.naive}, plain={args.plain}, channels_last={args.channels_last}, bf16={args.bf16}: total self CPU {total_us / 1e3 / args.steps:.0f} ms '
          f'per step')
    print('| aten op | self CPU ms / step | share | calls / step |\n|---|---|---|---|')
    for row in rows[:args.top]:
        print(f"| `{row['op']}` | {row['self_cpu_ms_per_step']:.0f} | {100 * row['share']:.1f} % | "
              f"{row['calls_per_step']:.0f} |")
    if args.json:
        write_mapping(args.json, {'args': {k: str(v) for k, v in vars(args).items()},
                                  'total_self_cpu_ms_per_step': total_us / 1e3 / args.steps, 'ops': rows})
    return 0


if __name__ == '__main__':
    sys.exit(main())
