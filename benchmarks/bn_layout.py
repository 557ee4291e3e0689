"""Affine-free BatchNorm2d forward + backward, NCHW vs channels_last, at PC-DARTS candidate shapes (issue 10).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bn_layout.py [--calls 50]

Process CPU time per call (mean of ``--calls`` calls after 5 warm-up calls), one torch thread.
NHWC batch norm vectorises over the channel axis, so it loses at 4 channels and wins at 16.
"""
import argparse
import time

import torch

SHAPES = ((4, 32), (8, 16), (16, 8), (16, 32))  # (channels, side): C=16 K=4 cells at 32, 16, 8 px, and full width


def bn_microseconds(channels, side, memory_format, calls, batch=16):
    bn = torch.nn.BatchNorm2d(channels, affine=False)
    x = torch.randn(batch, channels, side, side).contiguous(memory_format=memory_format).requires_grad_()
    grad = torch.randn(batch, channels, side, side).contiguous(memory_format=memory_format)
    for _ in range(5):
        bn(x).backward(grad)
    start = time.process_time()
    for _ in range(calls):
        bn(x).backward(grad)
    return (time.process_time() - start) / calls * 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--calls', type=int, default=50)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print('| BN forward + backward, batch 16 | NCHW us | channels_last us |\n|---|---|---|')
    for channels, side in SHAPES:
        nchw = bn_microseconds(channels, side, torch.contiguous_format, args.calls)
        nhwc = bn_microseconds(channels, side, torch.channels_last, args.calls)
        print(f'| {channels} channels, {side}x{side} | {nchw:.0f} | {nhwc:.0f} |')


if __name__ == '__main__':
    main()
