"""Strided dilated depthwise convs of channels_last activations with their backward in NCHW (srnas.nas.nhwc_conv).

Truth: the same nn.Conv2d on the NCHW tensor. The backward runs the NCHW kernel on the same numbers, so
the gradients are equal bit for bit; the forward runs the NHWC kernel (equal to rounding).
"""
import copy

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from classification.ops import DARTS_PRIMITIVES, darts_search_candidate
from srnas.nas import MixedOp
from srnas.nas.nhwc_conv import conv2d_with_nchw_backward, has_slow_nhwc_backward

CL = torch.channels_last


@pytest.mark.parametrize('bias', [False, True])
def test_conv_with_nchw_backward_gives_the_nchw_gradients(bias):
    torch.manual_seed(0)
    reference = nn.Conv2d(3, 3, 3, stride=2, padding=2, dilation=2, groups=3, bias=bias)
    ours = copy.deepcopy(reference).to(memory_format=CL)
    x = torch.randn(2, 3, 9, 9)
    x_nchw, x_nhwc = x.clone().requires_grad_(), x.contiguous(memory_format=CL).requires_grad_()
    want = reference(x_nchw)
    got = conv2d_with_nchw_backward(x_nhwc, ours)
    assert got.is_contiguous(memory_format=CL)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    probe = torch.randn_like(want)
    grads_want = torch.autograd.grad(want, [x_nchw, *reference.parameters()], probe)
    grads_got = torch.autograd.grad(got, [x_nhwc, *ours.parameters()], probe.contiguous(memory_format=CL))
    assert grads_got[0].is_contiguous(memory_format=CL)
    assert len(grads_got) == 2 + bias
    for g_got, g_want in zip(grads_got, grads_want):
        assert torch.equal(g_got, g_want)


def test_only_strided_dilated_depthwise_convs_of_nhwc_tensors_qualify():
    def conv(**kw):
        args = dict(in_channels=4, out_channels=4, kernel_size=3, stride=2, padding=2, dilation=2, groups=4)
        return nn.Conv2d(**dict(args, **kw))
    x = torch.randn(2, 4, 8, 8)
    x_nhwc = x.contiguous(memory_format=CL)
    assert has_slow_nhwc_backward(conv(), x_nhwc)
    assert not has_slow_nhwc_backward(conv(), x)  # NCHW
    assert not has_slow_nhwc_backward(conv(stride=1), x_nhwc)
    assert not has_slow_nhwc_backward(conv(dilation=1, padding=1), x_nhwc)
    assert not has_slow_nhwc_backward(conv(groups=1), x_nhwc)  # not depthwise
    assert not has_slow_nhwc_backward(conv(padding_mode='reflect'), x_nhwc)
    assert not has_slow_nhwc_backward(conv(), torch.empty(2, 4, 8, 8, device='meta', memory_format=CL))  # CPU only
    hooked = conv()
    hooked.register_forward_hook(lambda *args: None)
    assert not has_slow_nhwc_backward(hooked, x_nhwc)  # called whole so its hooks see it


def _graph_names(tensor):
    names, stack, seen = set(), [tensor.grad_fn], set()
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        names.add(type(node).__name__)
        stack.extend(next_node for next_node, _ in node.next_functions)
    return names


@pytest.mark.parametrize('name', ['dil_conv_3x3', 'dil_conv_5x5'])
def test_reduction_edge_dil_conv_in_nhwc_matches_nchw_and_uses_the_nchw_backward(name):
    torch.manual_seed(1)
    nchw = MixedOp([darts_search_candidate(name, 4, 2)]).train()
    nhwc = copy.deepcopy(nchw).to(memory_format=CL)
    w = torch.ones(1, requires_grad=True)
    x = torch.randn(2, 4, 8, 8)
    x_nchw, x_nhwc = x.clone().requires_grad_(), x.contiguous(memory_format=CL).requires_grad_()
    want, got = nchw(x_nchw, w), nhwc(x_nhwc, w)
    assert '_ConvWithNCHWBackwardBackward' in _graph_names(got)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
    probe = torch.randn_like(want)
    grads_want = torch.autograd.grad(want, [x_nchw, *nchw.parameters()], probe)
    grads_got = torch.autograd.grad(got, [x_nhwc, *nhwc.parameters()], probe.contiguous(memory_format=CL))
    for g_got, g_want in zip(grads_got, grads_want):  # BN after the conv: rounding of its statistics
        assert (g_got - g_want).abs().max() <= 1e-4 * g_want.abs().max() + 1e-6
    nhwc.nchw_backward_for_strided_dilated_convs = False
    assert '_ConvWithNCHWBackwardBackward' not in _graph_names(nhwc(x_nhwc, w))


def test_normal_edges_keep_the_nhwc_convolution():
    edge = MixedOp([darts_search_candidate(name, 4, 1) for name in DARTS_PRIMITIVES]).train().to(memory_format=CL)
    x = torch.randn(2, 4, 8, 8).contiguous(memory_format=CL).requires_grad_()
    out = edge(x, F.softmax(torch.randn(len(DARTS_PRIMITIVES)), 0))
    assert '_ConvWithNCHWBackwardBackward' not in _graph_names(out)
