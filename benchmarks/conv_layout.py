"""Depthwise conv forward + backward: NCHW, channels_last, and channels_last with the backward in NCHW (issue 10).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/conv_layout.py [--calls 30]

The DARTS candidates' depthwise convs at the PC-DARTS K=4, C=16 shapes (batch 16): sep_conv (dilation 1)
and dil_conv (dilation 2), 3x3 and 5x5, stride 1 in normal cells and 2 on reduction edges. Process CPU
time per call (mean of ``--calls`` after 3 warm-up calls), one torch thread, input and weight gradients
both computed. The last column is ``srnas.nas.nhwc_conv.conv2d_with_nchw_backward`` (NHWC forward, NCHW
backward, the layout copies included), what MixedOp uses for strided dilated depthwise convs.
"""
import argparse
import sys
from pathlib import Path

import torch
import torch.nn as nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from layout_timing import forward_backward_microseconds  # noqa: E402
from srnas.nas.nhwc_conv import conv2d_with_nchw_backward  # noqa: E402

# (channels, input side, stride): K=4 candidates of the C=16 net's cells (normal 32/16/8 px, reduction 32->16, 16->8)
SHAPES = ((4, 32, 1), (8, 32, 2), (8, 16, 1), (16, 16, 2), (16, 8, 1))


def microseconds(channels, side, stride, kernel, dilation, memory_format, calls, nchw_backward=False):
    conv = nn.Conv2d(channels, channels, kernel, stride=stride, padding=dilation * (kernel // 2), dilation=dilation,
                     groups=channels, bias=False).to(memory_format=memory_format)
    x = torch.randn(16, channels, side, side).contiguous(memory_format=memory_format).requires_grad_()
    forward = (lambda: conv2d_with_nchw_backward(x, conv)) if nchw_backward else (lambda: conv(x))
    return forward_backward_microseconds(forward, torch.randn_like(forward()), calls, warmup=3)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--calls', type=int, default=30)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print('| depthwise conv, batch 16 | NCHW us | channels_last us | channels_last, NCHW backward us |\n'
          '|---|---|---|---|')
    for channels, side, stride in SHAPES:
        for kernel in (3, 5):
            for dilation in (1, 2):
                row = [microseconds(channels, side, stride, kernel, dilation, fmt, args.calls)
                       for fmt in (torch.contiguous_format, torch.channels_last)]
                row.append(microseconds(channels, side, stride, kernel, dilation, torch.channels_last, args.calls,
                                        nchw_backward=True))
                print(f'| {channels} ch, {side}x{side}, {kernel}x{kernel}, stride {stride}, dilation {dilation} | '
                      + ' | '.join(f'{v:.0f}' for v in row) + ' |', flush=True)


if __name__ == '__main__':
    main()
