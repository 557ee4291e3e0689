"""Few-channel batch norm of channels_last activations on an NCHW copy (MixedOp.nhwc_batch_norm_min_channels).

Truth: nn.BatchNorm2d on the NCHW tensor (bit for bit: the copy runs the NCHW kernel), the same MixedOp
in NCHW, and the NCHW PC-DARTS supernet (to float rounding: its convolutions run other kernels).
"""
import copy

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from classification.darts.search_net import DartsSearchNetwork
from srnas.nas import MixedOp
from srnas.nas.lean_autograd import batch_norm_on_nchw_copy, few_channels_last
from tests.channels_last_check import assert_nhwc_matches_nchw
from tests.nas.nas_core_toys import saved_bytes, set_mixed_op_flag

CL = torch.channels_last


@pytest.mark.parametrize('momentum', [0.1, None])
def test_batch_norm_on_nchw_copy_is_the_nchw_batch_norm_bit_for_bit(momentum):
    torch.manual_seed(0)
    ours = nn.BatchNorm2d(3, affine=False, momentum=momentum).train()
    reference = copy.deepcopy(ours)
    for _ in range(2):  # the second call updates running statistics the first one wrote
        x = torch.randn(2, 3, 5, 5)
        x_nchw = x.clone().requires_grad_()
        x_nhwc = x.contiguous(memory_format=CL).requires_grad_()
        probe = torch.randn(2, 3, 5, 5)
        want = reference(x_nchw)
        got = batch_norm_on_nchw_copy(x_nhwc, ours)
        assert got.is_contiguous(memory_format=CL) and not got.is_contiguous()
        assert torch.equal(got, want)
        (grad_want,) = torch.autograd.grad(want, x_nchw, probe)
        (grad_got,) = torch.autograd.grad(got, x_nhwc, probe.contiguous(memory_format=CL))
        assert grad_got.is_contiguous(memory_format=CL)
        assert torch.equal(grad_got, grad_want)
    for (name, b_ours), b_ref in zip(ours.named_buffers(), reference.buffers()):
        assert torch.equal(b_ours, b_ref), name


def test_few_channels_last_needs_nhwc_and_few_channels():
    x = torch.randn(2, 4, 3, 3)
    assert not few_channels_last(x, 8)  # NCHW
    assert few_channels_last(x.contiguous(memory_format=CL), 8)
    assert not few_channels_last(x.contiguous(memory_format=CL), 4)  # 4 channels are not fewer than 4
    assert not few_channels_last(x.contiguous(memory_format=CL), 0)  # switched off
    assert not few_channels_last(torch.randn(2, 1, 3, 3).contiguous(memory_format=CL), 8)  # NCHW as well
    assert not few_channels_last(torch.empty(2, 4, 3, 3, device='meta', memory_format=CL), 8)  # CPU only


def _bn_candidates(channels):
    """Candidates whose other layers compute the same in both layouts (max pool, ReLU), ending in BN."""
    def bn():
        return nn.BatchNorm2d(channels, affine=False)
    return [nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), bn()),
            nn.Sequential(nn.ReLU(), bn(), nn.ReLU(), bn())]  # a BN inside the chain and one at its end


def _nchw_saved_4d(fn):
    """How many 4-d tensors kept for backward while fn runs are NCHW-contiguous and not channels_last."""
    found = []

    def pack(t):
        if t.dim() == 4 and t.is_contiguous() and not t.is_contiguous(memory_format=CL):
            found.append(t.shape)
        return t
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return len(found)


def test_mixed_op_in_nhwc_with_bn_on_nchw_copies_equals_the_nchw_mixed_op():
    torch.manual_seed(1)
    nchw = MixedOp(_bn_candidates(3)).train()
    nhwc = copy.deepcopy(nchw).to(memory_format=CL)
    w_nchw = F.softmax(torch.randn(2), 0).requires_grad_()
    w_nhwc = w_nchw.detach().clone().requires_grad_()
    for _ in range(2):
        x = torch.randn(2, 3, 6, 6)
        x_nchw, x_nhwc = x.clone().requires_grad_(), x.contiguous(memory_format=CL).requires_grad_()
        probe = torch.randn(2, 3, 6, 6)
        want, got = nchw(x_nchw, w_nchw), nhwc(x_nhwc, w_nhwc)
        assert got.is_contiguous(memory_format=CL)
        assert torch.equal(got, want)
        grads_want = torch.autograd.grad(want, [x_nchw, w_nchw], probe)
        grads_got = torch.autograd.grad(got, [x_nhwc, w_nhwc], probe.contiguous(memory_format=CL))
        assert all(torch.equal(a, b) for a, b in zip(grads_got, grads_want))
    for (name, b_got), b_want in zip(nhwc.named_buffers(), nchw.buffers()):
        assert torch.equal(b_got, b_want), name
    # the three BNs kept NCHW copies; with the switch off the NHWC mixed op keeps none
    x_nhwc = torch.randn(2, 3, 6, 6).contiguous(memory_format=CL).requires_grad_()
    assert _nchw_saved_4d(lambda: nhwc(x_nhwc, w_nhwc)) == 3
    nhwc.nhwc_batch_norm_min_channels = 0
    assert _nchw_saved_4d(lambda: nhwc(x_nhwc, w_nhwc)) == 0


def _pc_darts(channels_last):
    return DartsSearchNetwork(channels=16, layers=3, num_classes=3, partial_k=4, edge_normalization=True,
                              channels_last=channels_last)


def test_pc_darts_k4_nhwc_with_bn_on_nchw_copies_matches_the_nchw_supernet():
    # C=16, K=4: 4-channel candidates in the first cells, as in the side-by-side benchmark
    x, y = torch.randn(3, 3, 8, 8), torch.tensor([0, 1, 2])
    watched = lambda net: [m for m in net.modules() if isinstance(m, nn.Conv2d)][-1]  # noqa: E731
    # loss, every weight and alpha gradient: within 1e-3 of each gradient's scale (+1e-6)
    plain, nhwc = assert_nhwc_matches_nchw(_pc_darts, watched, F.cross_entropy, lambda: (x, y), grad_atol=1e-6)
    assert nhwc.cells[0]._ops[0].nhwc_batch_norm_min_channels > 4  # the 4-channel BNs ran on NCHW copies
    # BN running statistics after the step: float rounding of the activations (measured < 1e-5 relative)
    for (name, b_nhwc), b_plain in zip(nhwc.named_buffers(), plain.buffers()):
        torch.testing.assert_close(b_nhwc, b_plain, rtol=1e-4, atol=1e-6, msg=name)


def test_pc_darts_k4_bn_on_nchw_copies_is_in_use_and_keeps_no_more_bytes():
    torch.manual_seed(2)
    on = _pc_darts(True).train()
    off = copy.deepcopy(on)
    set_mixed_op_flag(off, 'nhwc_batch_norm_min_channels', 0)
    x = torch.randn(3, 3, 8, 8).contiguous(memory_format=CL)
    # every candidate BN of the first (4-channel) cells keeps an NCHW copy instead of its NHWC input
    assert _nchw_saved_4d(lambda: on(x)) > 0
    assert _nchw_saved_4d(lambda: off(x)) == 0
    # the NCHW copy replaces the NHWC input (same size); ATen's BN also keeps the running buffers
    bytes_on, bytes_off = (saved_bytes(lambda net=net: net(x)) for net in (on, off))
    assert bytes_off - 4096 < bytes_on <= bytes_off
