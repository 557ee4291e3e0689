"""Affine-free BatchNorm2d forward + backward, NCHW vs channels_last, at PC-DARTS candidate shapes (issue 10).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bn_layout.py [--calls 50]

Process CPU time per call (mean of ``--calls`` calls after 5 warm-up calls), one torch thread, batch 16.
NHWC batch norm vectorises over the channel axis, so it loses at few channels and wins at 16. The last
column is what MixedOp does below ``MixedOp.nhwc_batch_norm_min_channels``: the BN of a channels_last
tensor run on an NCHW copy (``srnas.nas.lean_autograd.batch_norm_on_nchw_copy``, copies included).
"""
import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from layout_timing import forward_backward_microseconds  # noqa: E402
from srnas.nas.lean_autograd import batch_norm_on_nchw_copy  # noqa: E402

SIDES = (32, 16, 8)  # the C=16 K=4 cells run at 32, 16 and 8 px
CHANNELS = (2, 3, 4, 6, 8, 12, 16)


def bn_microseconds(channels, side, memory_format, calls, on_nchw_copy=False, batch=16):
    bn = torch.nn.BatchNorm2d(channels, affine=False)
    x = torch.randn(batch, channels, side, side).contiguous(memory_format=memory_format).requires_grad_()
    grad = torch.randn(batch, channels, side, side).contiguous(memory_format=memory_format)
    forward = (lambda: batch_norm_on_nchw_copy(x, bn)) if on_nchw_copy else (lambda: bn(x))
    return forward_backward_microseconds(forward, grad, calls, warmup=5)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--calls', type=int, default=50)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print('| BN forward + backward, batch 16 | NCHW us | channels_last us | channels_last on an NCHW copy us |\n'
          '|---|---|---|---|')
    for side in SIDES:
        for channels in CHANNELS:
            nchw = bn_microseconds(channels, side, torch.contiguous_format, args.calls)
            nhwc = bn_microseconds(channels, side, torch.channels_last, args.calls)
            copy = bn_microseconds(channels, side, torch.channels_last, args.calls, on_nchw_copy=True)
            print(f'| {channels} channels, {side}x{side} | {nchw:.0f} | {nhwc:.0f} | {copy:.0f} |', flush=True)


if __name__ == '__main__':
    main()
