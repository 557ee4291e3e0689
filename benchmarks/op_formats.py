"""Single DARTS-supernet ops, forward + backward, in NCHW, channels_last and under bf16 autocast (CPU).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/op_formats.py [--calls 5]

Input 16 x 16 x 32 x 32 (batch 16, C=16, the first cells of the DARTS
supernet), one torch thread; two warm-up calls, then ``--calls`` timed calls;
prints the median forward and backward wall time and the median process CPU
time of forward + backward per op and format.
"""
import argparse
import statistics
import sys
import time

import torch
import torch.nn as nn

C = 16
OPS = {
    'depthwise 3x3': lambda: nn.Conv2d(C, C, 3, padding=1, groups=C, bias=False),
    'depthwise 5x5': lambda: nn.Conv2d(C, C, 5, padding=2, groups=C, bias=False),
    'dilated depthwise 3x3': lambda: nn.Conv2d(C, C, 3, padding=2, dilation=2, groups=C, bias=False),
    'dilated depthwise 5x5': lambda: nn.Conv2d(C, C, 5, padding=4, dilation=2, groups=C, bias=False),
    '1x1 conv': lambda: nn.Conv2d(C, C, 1, bias=False),
    'max pool 3x3': lambda: nn.MaxPool2d(3, 1, 1),
    'avg pool 3x3': lambda: nn.AvgPool2d(3, 1, 1, count_include_pad=False),
    'batch norm': lambda: nn.BatchNorm2d(C, affine=False),
}


def timed(fn, x, calls):
    x = x.detach().requires_grad_(True)
    for _ in range(2):
        fn(x).sum().backward()
    forward, backward, cpu = [], [], []
    for _ in range(calls):
        start, start_cpu = time.perf_counter(), time.process_time()
        out = fn(x)
        mid = time.perf_counter()
        out.sum().backward()
        forward.append(mid - start)
        backward.append(time.perf_counter() - mid)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(forward), statistics.median(backward), statistics.median(cpu)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--calls', type=int, default=5)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    x = torch.randn(16, C, 32, 32)
    print('| op | format | forward ms | backward ms | CPU ms (fwd+bwd) |\n|---|---|---|---|---|')
    for name, make in OPS.items():
        op = make()
        nhwc = make()
        nhwc.load_state_dict(op.state_dict())
        nhwc = nhwc.to(memory_format=torch.channels_last)

        def bf16(z, op=op):
            with torch.autocast('cpu', dtype=torch.bfloat16):
                return op(z)
        for label, fn, inp in (('NCHW', op, x), ('channels_last', nhwc, x.contiguous(memory_format=torch.channels_last)),
                               ('bf16 autocast', bf16, x)):
            fwd, bwd, cpu = timed(fn, inp, args.calls)
            print(f'| {name} | {label} | {1e3 * fwd:.2f} | {1e3 * bwd:.2f} | {1e3 * cpu:.2f} |', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
