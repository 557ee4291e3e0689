"""The machinery of benchmarks/nhwc_accuracy.py: its layout-split batch norm and its branch pinning."""
import sys
from pathlib import Path

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'benchmarks'))

import nhwc_accuracy  # noqa: E402
from nhwc_accuracy import NCHW, NHWC, _BatchNormLayouts, _watch_kinks  # noqa: E402


@pytest.mark.parametrize('forward_layout', [NCHW, NHWC], ids=['fwd_nchw', 'fwd_nhwc'])
@pytest.mark.parametrize('backward_layout', [NCHW, NHWC], ids=['bwd_nchw', 'bwd_nhwc'])
def test_layout_split_batch_norm_has_batch_norms_gradient(forward_layout, backward_layout):
    # truth: finite differences (gradcheck, float64) and F.batch_norm's own output
    generator = torch.Generator().manual_seed(0)
    x = (torch.randn(3, 4, 5, 5, generator=generator, dtype=torch.float64) + 2).contiguous(memory_format=NHWC)
    weight = torch.rand(4, generator=generator, dtype=torch.float64) + 0.5
    bias = torch.randn(4, generator=generator, dtype=torch.float64)
    inputs = tuple(t.requires_grad_() for t in (x, weight, bias))

    def split(x, weight, bias):
        return _BatchNormLayouts.apply(x, weight, bias, 1e-5, forward_layout, backward_layout)

    assert torch.autograd.gradcheck(split, inputs)
    out = split(*inputs)
    assert out.is_contiguous(memory_format=NHWC)
    torch.testing.assert_close(out, F.batch_norm(x, None, None, weight, bias, training=True), rtol=1e-12, atol=1e-12)


def _watched(module, truth_input, pin):
    flips = set()
    _watch_kinks(nn.Sequential(module), {'0': [truth_input]}, pin, flips)
    return flips


def test_relu_flips_are_counted_and_pinned():
    truth = torch.tensor([[[[1e-7, -1e-7, 2.0, -3.0]]]], dtype=torch.float64)
    x = torch.tensor([[[[-1e-7, 1e-7, 2.0, -3.0]]]], requires_grad=True)  # the first two on the other side
    relu = nn.ReLU()
    flips = _watched(relu, truth, pin=False)
    assert torch.equal(relu(x), torch.relu(x))  # unpinned: the plain op
    assert len(flips) == 2
    relu = nn.ReLU()
    flips = _watched(relu, truth, pin=True)
    out = relu(x)
    assert torch.equal(out, torch.tensor([[[[-1e-7, 0.0, 2.0, 0.0]]]]))  # float64's decisions
    grad, = torch.autograd.grad(out.sum(), x)
    assert torch.equal(grad, torch.tensor([[[[1.0, 0.0, 1.0, 0.0]]]]))
    assert len(flips) == 2


def test_max_pool_argmax_flips_are_counted_and_pinned():
    pool = nn.MaxPool2d(2)  # two windows: columns 0-1 and 2-3
    truth = torch.tensor([[[[1.0, 0.5, 3.0, 2.0], [0.0, 0.9, 0.0, 0.0]]]], dtype=torch.float64)
    x = torch.tensor([[[[1.0, 1.0 + 1e-6, 3.0, 2.0], [0.0, 0.9, 0.0, 0.0]]]], requires_grad=True)
    flips = _watched(pool, truth, pin=True)
    out = pool(x)
    assert len(flips) == 1  # the first window's argmax moved
    assert torch.equal(out, torch.tensor([[[[1.0, 3.0]]]]))  # float64's argmax (element 0), not x's max
    grad, = torch.autograd.grad(out.sum(), x)
    assert torch.equal(grad, torch.tensor([[[[1.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0]]]]))


def test_variants_keep_the_supernets_outputs():
    # moving ops to NCHW changes where the arithmetic runs, not what it computes
    torch.manual_seed(0)
    state = nhwc_accuracy._darts(False).state_dict()
    x = torch.randn(2, 3, 16, 16)
    outputs = {}
    for variant in nhwc_accuracy.VARIANTS:
        model = nhwc_accuracy._plain_graph(nhwc_accuracy._darts(variant != 'NCHW'))
        model.load_state_dict(state)
        nhwc_accuracy.apply_variant(model, variant)
        outputs[variant] = model(x)
    for variant, out in outputs.items():
        torch.testing.assert_close(out, outputs['NCHW'], rtol=1e-4, atol=1e-5, msg=variant)
