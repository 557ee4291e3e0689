"""Does pytorch/pytorch#188344 explain the wrong channels_last gradients of our supernets on the H100?

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/cuda_avg_pool_bug.py

pytorch#188344 (fixed by PR #188345, merged July 2026): the CUDA channels_last backward of
``avg_pool2d`` maps each input pixel to its pooling windows in unpadded coordinates, where the NCHW
kernel adds the padding first, so with ``padding > 0`` the input gradient is silently wrong. The H100
we had ran torch 2.11. Our DARTS and NB201 candidates include ``AvgPool2d(3, padding=1,
count_include_pad=False)``; the SR supernets pool with no padding.

No GPU is needed to test the explanation: this script builds the backward of avg_pool2d as a matrix
from each input pixel's window range, the way the CUDA kernels compute it, with the padding offset
(the NCHW kernel: must equal autograd exactly) and without it (the NHWC kernel before the fix). It then
puts the faulty backward into the supernets of tests/gpu/test_cuda_supernets.py (same configurations,
seeds and inputs) in float64 on the CPU and prints the whole-gradient relative L2 against the correct
backward, beside what the H100 measured for the channels_last supernets against their float64 truth.
"""
import argparse
import functools
import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MEASURED_ON_H100 = {'darts': 0.37, 'pcdarts': 0.014, 'nb201': 0.29, 'sac_dlsr': 7.6e-8, 'sac_imdn': 8.1e-8}


def _window_range(coord, kernel, stride, pooled):
    """Output windows [start, end) that cover padded coordinate ``coord`` (the CUDA kernels' formula)."""
    start = 0 if coord < kernel else (coord - kernel) // stride + 1
    return start, min(coord // stride + 1, pooled)


@functools.lru_cache(maxsize=None)
def backward_matrix(height, width, kernel, stride, padding, count_include_pad, add_padding_offset):
    """(H*W, PH*PW) matrix M with grad_input = grad_output @ M.T, built pixel by pixel as the CUDA kernels do.

    ``add_padding_offset=False`` reproduces the channels_last kernel of pytorch#188344.
    """
    pooled_h = (height + 2 * padding - kernel) // stride + 1
    pooled_w = (width + 2 * padding - kernel) // stride + 1
    matrix = torch.zeros(height * width, pooled_h * pooled_w, dtype=torch.float64)
    offset = padding if add_padding_offset else 0
    for h in range(height):
        for w in range(width):
            ph_start, ph_end = _window_range(h + offset, kernel, stride, pooled_h)
            pw_start, pw_end = _window_range(w + offset, kernel, stride, pooled_w)
            for ph in range(ph_start, ph_end):
                for pw in range(pw_start, pw_end):
                    h0, w0 = ph * stride - padding, pw * stride - padding
                    h1, w1 = min(h0 + kernel, height + padding), min(w0 + kernel, width + padding)
                    pool_size = (h1 - h0) * (w1 - w0)
                    inside = (min(h1, height) - max(h0, 0)) * (min(w1, width) - max(w0, 0))
                    matrix[h * width + w, ph * pooled_w + pw] += 1.0 / (pool_size if count_include_pad else inside)
    return matrix


class _AvgPoolWithKernelBackward(torch.autograd.Function):
    """avg_pool2d forward from ATen; backward through ``backward_matrix``."""

    @staticmethod
    def forward(ctx, x, pool, add_padding_offset):
        ctx.args = (x.shape[2], x.shape[3], pool.kernel_size, pool.stride, pool.padding, pool.count_include_pad,
                    add_padding_offset)
        return F.avg_pool2d(x, pool.kernel_size, pool.stride, pool.padding, pool.ceil_mode, pool.count_include_pad)

    @staticmethod
    def backward(ctx, grad):
        matrix = backward_matrix(*ctx.args).to(grad.dtype)
        batch, channels = grad.shape[:2]
        grad_input = grad.reshape(batch * channels, -1) @ matrix.T
        return grad_input.reshape(batch, channels, ctx.args[0], ctx.args[1]), None, None


def _is_square_pool(pool):
    return all(isinstance(v, int) for v in (pool.kernel_size, pool.stride, pool.padding)) and not pool.ceil_mode \
        and pool.divisor_override is None


def use_kernel_backward(model, add_padding_offset):
    """Route every AvgPool2d of ``model`` through ``backward_matrix``; returns how many were replaced."""
    pools = [m for m in model.modules() if type(m) is nn.AvgPool2d]
    for pool in pools:
        if not _is_square_pool(pool):
            raise ValueError(f'unsupported AvgPool2d {pool}')
        pool.forward = functools.partial(_AvgPoolWithKernelBackward.apply, pool=pool,
                                         add_padding_offset=add_padding_offset)
    return len(pools)


def gradient_error_from_the_bug(name):
    """Whole-gradient relative L2 of supernet ``name`` with the pre-fix NHWC backward vs the right one."""
    from tests.gpu.test_cuda_supernets import _build, _inputs, _loss
    from srnas.nas import set_lean_autograd
    from tests.nas.nas_core_toys import relative_l2  # the GPU test's measure
    grads = {}
    for add_offset in (True, False):
        torch.manual_seed(0)
        model = _build(name)
        pools = use_kernel_backward(model, add_offset)
        set_lean_autograd(model, False)  # same numbers (tests/nas); plain pools everywhere
        x, y = _inputs(name)
        loss = _loss(name)(model(x), y)
        grads[add_offset] = torch.autograd.grad(loss, list(model.parameters()))
    return relative_l2(grads[False], grads[True]), pools


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--cases', default='darts,pcdarts,nb201,sac_dlsr,sac_imdn')
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print('| supernet (tests/gpu configuration) | AvgPool2d layers | gradient error from the bug, float64 CPU '
          '| measured on the H100, channels_last float32 vs float64 |\n|---|---|---|---|')
    for name in args.cases.split(','):
        error, pools = gradient_error_from_the_bug(name)
        print(f'| {name} | {pools} | {error:.3g} | {MEASURED_ON_H100[name]:.2g} |', flush=True)


if __name__ == '__main__':
    main()
