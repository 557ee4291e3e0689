"""MixedOp: weighted sum, partial channels (bypass, stride-2 pooling, shuffle, cin != cout) by hand."""
import math

import pytest
import torch
import torch.nn as nn

from srnas.nas import (MixedOp, NASConfigError, arch_softmax, channel_shuffle, edge_normalized_sum,
                       partial_channel_split)


def _convs(cin, cout, n, stride=1, seed=0):
    torch.manual_seed(seed)
    return [nn.Conv2d(cin, cout, 3, stride, 1) for _ in range(n)]


def _shuffle_by_index(x, groups):
    """Output channel j = c * groups + g takes input channel g * (C / groups) + c."""
    channels = x.shape[1]
    per_group = channels // groups
    order = [(j % groups) * per_group + j // groups for j in range(channels)]
    return x[:, order]


def _channel_average_by_hand(x, out_channels):
    """Adaptive average pooling along channels, bins [floor(i*C/C'), ceil((i+1)*C/C'))."""
    cin = x.shape[1]
    outs = []
    for i in range(out_channels):
        lo, hi = math.floor(i * cin / out_channels), math.ceil((i + 1) * cin / out_channels)
        outs.append(x[:, lo:hi].mean(dim=1, keepdim=True))
    return torch.cat(outs, dim=1)


def test_full_channel_mixed_op_is_weighted_sum():
    ops = _convs(4, 4, 3)
    mixed = MixedOp(ops, names=['a', 'b', 'c'])
    x = torch.randn(2, 4, 6, 6)
    w = arch_softmax(torch.tensor([0.3, -1.0, 2.0]))
    expected = w[0] * ops[0](x) + w[1] * ops[1](x) + w[2] * ops[2](x)
    torch.testing.assert_close(mixed(x, w), expected)


def test_channel_shuffle_matches_index_formula():
    x = torch.arange(2 * 12 * 1 * 1, dtype=torch.float32).view(2, 12, 1, 1)
    torch.testing.assert_close(channel_shuffle(x, 4), _shuffle_by_index(x, 4))
    # channels 0..11 in 4 groups of 3 -> 0,3,6,9,1,4,7,10,2,5,8,11
    assert channel_shuffle(x, 4)[0, :, 0, 0].tolist() == [0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11]


def test_partial_channel_equal_channels_by_hand():
    cin, k = 8, 4
    sub_in, sub_out = partial_channel_split(cin, cin, k)
    assert (sub_in, sub_out) == (2, 2)
    ops = _convs(sub_in, sub_out, 2)
    mixed = MixedOp(ops, in_channels=cin, partial_k=k)
    x = torch.randn(3, cin, 5, 5)
    w = torch.tensor([0.25, 0.75])
    processed = 0.25 * ops[0](x[:, :2]) + 0.75 * ops[1](x[:, :2])
    expected = _shuffle_by_index(torch.cat([processed, x[:, 2:]], 1), k)
    out = mixed(x, w)
    torch.testing.assert_close(out, expected)
    # bypassed channels are copied untouched: input channel 2 (first bypass channel) lands at output 1
    torch.testing.assert_close(out[:, 1], x[:, 2])


def test_partial_channel_stride2_maxpools_bypass():
    cin, k = 8, 2
    ops = _convs(4, 4, 2, stride=2)
    mixed = MixedOp(ops, in_channels=cin, partial_k=k, stride=2)
    x = torch.randn(1, cin, 6, 6)
    w = torch.tensor([0.5, 0.5])
    out = mixed(x, w)
    assert out.shape == (1, cin, 3, 3)
    bypass = x[:, 4:].unfold(2, 2, 2).unfold(3, 2, 2).amax(dim=(-1, -2))  # 2x2 max by hand
    processed = 0.5 * ops[0](x[:, :4]) + 0.5 * ops[1](x[:, :4])
    torch.testing.assert_close(out, _shuffle_by_index(torch.cat([processed, bypass], 1), k))


@pytest.mark.parametrize('cin,cout', [(48, 64), (48, 16)])
def test_partial_channel_cin_ne_cout_resamples_bypass(cin, cout):
    k = 4
    sub_in, sub_out = partial_channel_split(cin, cout, k)
    assert (sub_in, sub_out) == (cin // 4, cout // 4)
    ops = _convs(sub_in, sub_out, 3)
    mixed = MixedOp(ops, in_channels=cin, out_channels=cout, partial_k=k)
    x = torch.randn(2, cin, 4, 4)
    w = torch.tensor([0.2, 0.3, 0.5])
    out = mixed(x, w)
    assert out.shape == (2, cout, 4, 4)
    processed = sum(wi * op(x[:, :sub_in]) for wi, op in zip(w, ops))
    bypass = _channel_average_by_hand(x[:, sub_in:], cout - sub_out)
    torch.testing.assert_close(out, _shuffle_by_index(torch.cat([processed, bypass], 1), k))


def test_partial_channel_errors_are_clear():
    with pytest.raises(NASConfigError, match='K=5 does not divide in_channels=48'):
        partial_channel_split(48, 48, 5)
    with pytest.raises(NASConfigError, match='does not divide out_channels=18'):
        partial_channel_split(48, 18, 4)
    with pytest.raises(NASConfigError, match='K=3 does not divide in_channels=16'):
        MixedOp(_convs(4, 4, 1), in_channels=16, partial_k=3)
    with pytest.raises(NASConfigError, match='partial_k must be an integer'):
        MixedOp(_convs(4, 4, 1), in_channels=16, partial_k=0)
    with pytest.raises(NASConfigError, match='needs in_channels'):
        MixedOp(_convs(4, 4, 1), partial_k=2)


def test_weight_vector_shape_checked():
    mixed = MixedOp(_convs(4, 4, 2))
    with pytest.raises(ValueError, match='length 2'):
        mixed(torch.randn(1, 4, 3, 3), torch.ones(3))


def test_edge_normalized_sum_and_temperature():
    outs = [torch.full((1, 2, 2, 2), float(i)) for i in range(3)]
    beta = torch.tensor([0.0, 1.0, 2.0])
    w = torch.exp(beta / 2) / torch.exp(beta / 2).sum()
    expected = sum(wi * o for wi, o in zip(w, outs))
    torch.testing.assert_close(edge_normalized_sum(outs, beta, temperature=2.0), expected)
    with pytest.raises(NASConfigError, match='temperature'):
        arch_softmax(beta, temperature=0)


def test_arch_softmax_at_temperature_one_is_the_divided_softmax_bit_for_bit():
    alpha = torch.randn(14, 8, requires_grad=True)
    probe = torch.randn(14, 8)
    ours = arch_softmax(alpha)
    divided = torch.softmax(alpha / 1.0, dim=-1)
    assert torch.equal(ours, divided)
    assert torch.equal(torch.autograd.grad((ours * probe).sum(), alpha)[0],
                       torch.autograd.grad((divided * probe).sum(), alpha)[0])
