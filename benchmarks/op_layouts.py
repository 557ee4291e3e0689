"""Where a supernet step's time goes, by aten op, input shapes and memory layouts (CPU, one thread).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/op_layouts.py [--partial-k 4] [--channels-last] [--plain]
        [--nhwc-kernels-as-they-are] [--steps 2] [--top 40] [--json out.json]

torch.profiler records shapes but not strides, and in a channels_last network the layout of each
input decides the kernel (an NCHW gradient meeting an NHWC activation, a strided channel slice). This
times every aten call of forward + backward through a ``TorchDispatchMode`` (wall clock around the
call itself, Python overhead of the mode excluded) and groups the calls by op and inputs, each input
written as its shape and ``c`` (NCHW-contiguous), ``cl`` (channels_last) or ``S<strides>``.
The model and step are benchmarks/profile_supernet.py's (C=16, 8 cells, batch 16, 32x32).
``--nhwc-kernels-as-they-are`` switches off MixedOp's NHWC kernel choices (few-channel BNs on NCHW
copies, strided dilated depthwise backward in NCHW), i.e. the lean graph as it was before them.
"""
import argparse
import collections
import sys
import time
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from profile_supernet import build_step  # noqa: E402
from srnas.nas import MixedOp  # noqa: E402
from srnas.nas.files import write_mapping  # noqa: E402


def describe(arg) -> str:
    """Shape and layout of a tensor input ('' for non-tensors), lists of tensors in brackets."""
    if isinstance(arg, torch.Tensor):
        shape = tuple(arg.shape)
        if arg.dim() != 4:
            return str(shape)
        if arg.is_contiguous():
            return f'{shape}c'
        if arg.is_contiguous(memory_format=torch.channels_last):
            return f'{shape}cl'
        return f'{shape}S{tuple(arg.stride())}'
    if isinstance(arg, (list, tuple)):
        inner = [describe(a) for a in arg]
        return '[' + ','.join(d for d in inner if d) + ']' if any(inner) else ''
    return ''


class OpTimer(TorchDispatchMode):
    """Sums the wall time of every aten call by (op, inputs)."""

    def __init__(self):
        super().__init__()
        self.totals = collections.defaultdict(lambda: [0, 0.0])

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        start = time.perf_counter()
        out = func(*args, **(kwargs or {}))
        elapsed = time.perf_counter() - start
        entry = self.totals[(str(func), ' '.join(d for d in map(describe, args) if d))]
        entry[0] += 1
        entry[1] += elapsed
        return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--step', choices=('fwd_bwd', 'first_order'), default='fwd_bwd')
    parser.add_argument('--primitives', type=int, choices=(7, 8), default=8)
    parser.add_argument('--partial-k', type=int, default=1, help='PC-DARTS K (> 1: with edge normalisation)')
    parser.add_argument('--batch', type=int, default=16)
    parser.add_argument('--steps', type=int, default=2)
    parser.add_argument('--channels-last', action='store_true')
    parser.add_argument('--plain', action='store_true', help="MixedOp's plain autograd graph (lean graph off)")
    parser.add_argument('--nhwc-kernels-as-they-are', action='store_true',
                        help="MixedOp's NHWC kernel choices off (nhwc_batch_norm_min_channels=0, no NCHW conv backward)")
    parser.add_argument('--top', type=int, default=40)
    parser.add_argument('--json', type=Path)
    args = parser.parse_args(argv)
    args.naive = args.bf16 = False
    torch.set_num_threads(1)
    if args.nhwc_kernels_as_they_are:
        MixedOp.nhwc_batch_norm_min_channels = 0  # class-level switches: every MixedOp built below
        MixedOp.nchw_backward_for_strided_dilated_convs = False
    step = build_step(args)
    step()  # warm-up
    timer = OpTimer()
    with timer:
        for _ in range(args.steps):
            step()
    rows = sorted(({'op': op, 'inputs': inputs, 'ms_per_step': 1e3 * seconds / args.steps,
                    'calls_per_step': count / args.steps, 'us_per_call': 1e6 * seconds / count}
                   for (op, inputs), (count, seconds) in timer.totals.items()), key=lambda r: -r['ms_per_step'])
    per_op = collections.Counter()
    for row in rows:
        per_op[row['op']] += row['ms_per_step']
    total = sum(per_op.values())
    print(f'{args.step}, K={args.partial_k}, channels_last={args.channels_last}, plain={args.plain}, '
          f'nhwc_kernels_as_they_are={args.nhwc_kernels_as_they_are}: '
          f'{total:.0f} ms per step in aten calls')
    print('| aten op | ms / step |\n|---|---|')
    for op, ms in per_op.most_common(15):
        print(f'| `{op}` | {ms:.1f} |')
    print('\n| aten op | inputs | ms / step | calls / step | us / call |\n|---|---|---|---|---|')
    for row in rows[:args.top]:
        print(f"| `{row['op']}` | {row['inputs'][:120]} | {row['ms_per_step']:.1f} | {row['calls_per_step']:.0f} | "
              f"{row['us_per_call']:.0f} |")
    if args.json:
        write_mapping(args.json, {'args': {k: str(v) for k, v in vars(args).items()},
                                  'total_ms_per_step': total, 'ops': rows})
    return 0


if __name__ == '__main__':
    sys.exit(main())
