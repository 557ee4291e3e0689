"""pytorch/pytorch#188344 on the CPU: the re-enacted CUDA avg_pool2d backward and the probe that detects it.

Truth: autograd's avg_pool2d backward (the re-enactment with the padding offset must equal it exactly),
ATen's CPU kernels (right in both layouts), and the gradient errors the H100 measured for the
channels_last supernets (tests/gpu/test_cuda_supernets.py): the bug put into the float64 supernet must
reproduce them.
"""
import sys
from pathlib import Path

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from srnas.nas.layout import padded_avg_pool_backward_is_right

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'benchmarks'))
from cuda_avg_pool_bug import MEASURED_ON_H100, gradient_error_from_the_bug, use_kernel_backward  # noqa: E402


def _input_gradient(pool, x, add_padding_offset=None):
    model = nn.Sequential(pool)
    if add_padding_offset is not None:
        use_kernel_backward(model, add_padding_offset)
    leaf = x.clone().requires_grad_()
    return torch.autograd.grad(model(leaf).pow(2).sum(), leaf)[0]


@pytest.mark.parametrize('kernel,stride,padding,count_include_pad',
                         [(3, 1, 1, False), (3, 2, 1, False), (3, 2, 1, True), (2, 2, 0, True), (5, 3, 0, False)])
@pytest.mark.parametrize('size', [(8, 8), (7, 9)])
def test_the_re_enacted_kernel_is_autograd_with_the_offset_and_wrong_without_it_only_when_padded(
        kernel, stride, padding, count_include_pad, size):
    x = torch.randn(2, 3, *size, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    pool = nn.AvgPool2d(kernel, stride, padding, count_include_pad=count_include_pad)
    truth = _input_gradient(pool, x)
    torch.testing.assert_close(_input_gradient(pool, x, True), truth, rtol=1e-14, atol=1e-14)
    wrong = _input_gradient(pool, x, False)
    assert torch.equal(wrong, _input_gradient(pool, x, True)) == (padding == 0)


def _kernel_with_the_bug(x, kernel, stride, padding, ceil_mode, count_include_pad):
    """F.avg_pool2d whose channels_last backward is the pre-fix CUDA kernel's."""
    if not x.is_contiguous(memory_format=torch.channels_last) or x.is_contiguous():
        return F.avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad)
    model = nn.Sequential(nn.AvgPool2d(kernel, stride, padding, ceil_mode, count_include_pad))
    use_kernel_backward(model, add_padding_offset=False)
    return model(x)


def test_the_probe_passes_atens_cpu_kernel_and_catches_the_bug():
    assert padded_avg_pool_backward_is_right('cpu')
    assert not padded_avg_pool_backward_is_right('cpu', avg_pool2d=_kernel_with_the_bug)


def test_the_bug_reproduces_the_gradient_error_measured_on_the_h100():
    # NB201 (the fastest of the three): 0.29 measured on the GPU, channels_last float32 against float64
    error, pools = gradient_error_from_the_bug('nb201')
    assert pools == 20 and abs(error - MEASURED_ON_H100['nb201']) < 0.01
