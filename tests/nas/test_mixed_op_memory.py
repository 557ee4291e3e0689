"""MixedOp's lean autograd graph (one shared ReLU, BN outputs recomputed) changes no number and saves less.

Truth: the same model with ``lean_autograd = False`` (the plain autograd graph: each candidate its own
ReLU, every BN output kept), compared bit for bit; autograd's numerical gradcheck in float64; and the
bytes saved for backward counted tensor by tensor with ``saved_tensors_hooks``.
"""
import copy

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from classification.darts.search_net import DartsSearchNetwork
from classification.nb201.search_net import NB201SearchNetwork
from classification.ops import DARTS_PRIMITIVES, darts_search_candidate
import srnas.nas.mixed_op as mixed_op_module
from srnas.nas import MixedOp, channel_shuffle
from srnas.nas.mixed_op import shuffled_concat
from srnas.ops.sr_ops import DLSR_CANDIDATES, IMDN_CANDIDATES, build_dlsr_op, build_imdn_op
from tests.nas.nas_core_toys import saved_bytes, set_mixed_op_flag


def _loss_grads(model, x, y):
    loss = F.cross_entropy(model(x), y)
    params = list(model.parameters())
    return loss.detach(), torch.autograd.grad(loss, params)


def _lean_graph_alone(model):
    """Switch off the NHWC kernel choices that live in the lean graph and move rounding (their own tests:
    test_nhwc_batch_norm.py, test_nhwc_conv.py), so the lean graph itself is compared bit for bit."""
    set_mixed_op_flag(model, 'nhwc_batch_norm_min_channels', 0)
    set_mixed_op_flag(model, 'nchw_backward_for_strided_dilated_convs', False)


def _assert_identical_step(lean, plain, x, y):
    loss_lean, grads_lean = _loss_grads(lean, x, y)
    loss_plain, grads_plain = _loss_grads(plain, x, y)
    assert torch.equal(loss_lean, loss_plain)
    for (name, _), g_lean, g_plain in zip(lean.named_parameters(), grads_lean, grads_plain):
        assert torch.equal(g_lean, g_plain), f'{name}: max diff {(g_lean - g_plain).abs().max().item()}'
    for (name, b_lean), b_plain in zip(lean.named_buffers(), plain.buffers()):
        assert torch.equal(b_lean, b_plain), name


@pytest.mark.parametrize('build', [
    lambda: DartsSearchNetwork(channels=4, layers=3, num_classes=3),
    lambda: DartsSearchNetwork(channels=4, layers=3, num_classes=3, channels_last=True),
    lambda: DartsSearchNetwork(channels=8, layers=3, num_classes=3, partial_k=2, edge_normalization=True),
    lambda: DartsSearchNetwork(channels=8, layers=3, num_classes=3, partial_k=4, edge_normalization=True,
                               channels_last=True),
    lambda: NB201SearchNetwork(channels=4, cells_per_stage=1, num_classes=3),
    lambda: NB201SearchNetwork(channels=4, cells_per_stage=1, num_classes=3, track_running_stats=False),
], ids=['darts', 'darts_cl', 'pc_darts_k2', 'pc_darts_k4_cl', 'nb201', 'nb201_no_running_stats'])
def test_lean_graph_gives_bit_identical_loss_gradients_and_running_stats(build):
    torch.manual_seed(0)
    lean = build().train()
    with torch.no_grad():  # alphas far from uniform, so every candidate's weight matters
        for alpha in lean.arch_parameters():
            alpha.normal_()
    _lean_graph_alone(lean)
    plain = copy.deepcopy(lean)
    set_mixed_op_flag(plain, 'lean_autograd', False)
    x, y = torch.randn(3, 3, 8, 8), torch.tensor([0, 1, 2])
    assert saved_bytes(lambda: lean(x)) < saved_bytes(lambda: plain(x))  # the lean graph is in use
    for _ in range(2):  # the second step runs on running statistics updated by the first
        _assert_identical_step(lean, plain, x, y)
    lean.eval()
    plain.eval()
    with torch.no_grad():
        assert torch.equal(lean(x), plain(x))


@pytest.mark.parametrize('space', ['dlsr', 'imdn'])
def test_sr_candidates_lean_sum_is_bit_identical(space):
    torch.manual_seed(3)
    if space == 'dlsr':
        ops = [build_dlsr_op(name, 4) for name in DLSR_CANDIDATES]
    else:
        ops = [build_imdn_op(name, 4, 4, bn_affine=False) for name in IMDN_CANDIDATES]
    lean = MixedOp(ops).train()
    plain = copy.deepcopy(lean)
    plain.lean_autograd = False
    x = torch.randn(2, 4, 6, 6)
    alpha = torch.randn(len(ops))
    results = []
    for mixed in (lean, plain):
        xi, ai = x.clone().requires_grad_(), alpha.clone().requires_grad_()
        out = mixed(xi, F.softmax(ai, dim=0))
        grads = torch.autograd.grad((out * out.detach().sin()).sum(), [xi, ai, *mixed.parameters()])
        results.append((out.detach(), grads))
    assert torch.equal(results[0][0], results[1][0])
    for g_lean, g_plain in zip(results[0][1], results[1][1]):
        assert torch.equal(g_lean, g_plain)


@pytest.mark.parametrize('stride', [1, 2])
def test_lean_mixed_op_passes_gradcheck_in_float64(stride):
    torch.manual_seed(4)
    names = [n for n in DARTS_PRIMITIVES if n != 'max_pool_3x3']  # max pool is not smooth at ties
    mixed = MixedOp([darts_search_candidate(n, 2, stride) for n in names], names=names).double().train()
    x = torch.randn(2, 2, 5, 5, dtype=torch.float64, requires_grad=True)
    alpha = torch.randn(len(names), dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, a: mixed(x, F.softmax(a, dim=0)), (x, alpha), eps=1e-6, atol=1e-5)


def test_lean_graph_keeps_one_relu_per_edge_and_no_bn_outputs():
    torch.manual_seed(5)
    mixed = MixedOp([darts_search_candidate(n, 4, 1) for n in DARTS_PRIMITIVES], names=DARTS_PRIMITIVES).train()
    plain = copy.deepcopy(mixed)
    plain.lean_autograd = False
    x = torch.randn(2, 4, 6, 6, requires_grad=True)
    w = F.softmax(torch.randn(len(DARTS_PRIMITIVES), requires_grad=True), dim=0)
    activation = x.numel() * x.element_size()  # every candidate's output has x's shape here
    saved_plain = saved_bytes(lambda: plain(x, w))
    saved_lean = saved_bytes(lambda: mixed(x, w))
    relu_candidates = 4  # sep 3x3, sep 5x5, dil 3x3, dil 5x5
    bn_ended = 6  # max pool + BN, avg pool + BN and the four convs
    # both keep the batch mean and inverse std; the plain BN node also keeps the two running buffers
    per_channel = 2 * x.shape[1] * x.element_size()
    assert saved_plain - saved_lean == (relu_candidates - 1) * activation + bn_ended * (activation + per_channel)


def test_candidate_with_hooks_is_called_whole():
    mixed = MixedOp([darts_search_candidate(n, 4, 1) for n in ('sep_conv_3x3', 'dil_conv_3x3')]).train()
    seen = []
    mixed.candidates[0].register_forward_hook(lambda _m, _i, out: seen.append(out.shape))
    mixed(torch.randn(2, 4, 5, 5), torch.tensor([0.4, 0.6], requires_grad=True))
    assert seen == [torch.Size([2, 4, 5, 5])]


def test_batchnorm_with_running_stats_in_eval_uses_them():
    torch.manual_seed(6)
    ops = [nn.Sequential(nn.Conv2d(3, 3, 1), nn.BatchNorm2d(3, affine=False)) for _ in range(2)]
    mixed = MixedOp(ops).train()
    mixed(torch.randn(4, 3, 5, 5), torch.tensor([0.5, 0.5]))  # one training step moves the running stats
    plain = copy.deepcopy(mixed)
    plain.lean_autograd = False
    mixed.eval()
    plain.eval()
    x, w = torch.randn(2, 3, 5, 5), torch.tensor([0.3, 0.7], requires_grad=True)
    out_lean, out_plain = mixed(x, w), plain(x, w)
    assert torch.equal(out_lean, out_plain)
    assert torch.equal(torch.autograd.grad(out_lean.sum(), w)[0], torch.autograd.grad(out_plain.sum(), w)[0])


@pytest.mark.parametrize('channels_last', [False, True])
def test_max_pool_keeping_its_input_is_bit_identical_and_keeps_no_indices(channels_last):
    torch.manual_seed(7)
    lean = DartsSearchNetwork(channels=4, layers=3, num_classes=3, channels_last=channels_last).train()
    for module in lean.modules():
        if isinstance(module, MixedOp):
            module.recompute_max_pool_indices = True
    _lean_graph_alone(lean)
    plain = copy.deepcopy(lean)
    set_mixed_op_flag(plain, 'lean_autograd', False)
    x, y = torch.randn(3, 3, 8, 8), torch.tensor([0, 1, 2])
    _assert_identical_step(lean, plain, x, y)

    int64_saved = []

    def pack(t):
        if t.dtype == torch.int64:
            int64_saved.append(t.shape)
        return t
    edge = lean.cells[0]._ops[0]
    x_edge = torch.randn(2, 4, 6, 6, requires_grad=True)
    w_edge = F.softmax(torch.randn(len(DARTS_PRIMITIVES), requires_grad=True), dim=0)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        edge(x_edge, w_edge)
    assert int64_saved == []
    edge.recompute_max_pool_indices = False
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        edge(x_edge, w_edge)
    assert int64_saved == [torch.Size([2, 4, 6, 6])]  # the max pool's indices


@pytest.mark.parametrize('channels_last', [False, True])
def test_shuffled_concat_is_cat_then_channel_shuffle_and_keeps_the_format(channels_last):
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    processed = torch.randn(2, 3, 4, 5).contiguous(memory_format=fmt).requires_grad_()
    bypass = torch.randn(2, 9, 4, 5).contiguous(memory_format=fmt)[:, :9].requires_grad_()
    got = shuffled_concat(processed, bypass, 4)
    want = channel_shuffle(torch.cat([processed, bypass], dim=1), 4)
    assert torch.equal(got, want)
    assert got.is_contiguous(memory_format=fmt)
    probe = torch.randn_like(want)
    assert all(torch.equal(a, b) for a, b in zip(torch.autograd.grad(got, [processed, bypass], probe),
                                                  torch.autograd.grad(want, [processed, bypass], probe)))


@pytest.mark.parametrize('channels_last', [False, True])
def test_pc_darts_supernet_with_shuffled_concat_matches_cat_and_shuffle(channels_last, monkeypatch):
    torch.manual_seed(8)
    fast = DartsSearchNetwork(channels=8, layers=3, num_classes=3, partial_k=4, edge_normalization=True,
                              channels_last=channels_last).train()
    before = copy.deepcopy(fast)
    x, y = torch.randn(3, 3, 8, 8), torch.tensor([0, 1, 2])
    loss_fast, grads_fast = _loss_grads(fast, x, y)
    monkeypatch.setattr(mixed_op_module, 'shuffled_concat',
                        lambda p, q, groups: channel_shuffle(torch.cat([p, q], dim=1), groups))
    loss_before, grads_before = _loss_grads(before, x, y)
    assert torch.equal(loss_fast, loss_before)
    for (name, _), g_fast, g_before in zip(fast.named_parameters(), grads_fast, grads_before):
        if not channels_last:
            assert torch.equal(g_fast, g_before), f'{name}: max diff {(g_fast - g_before).abs().max().item()}'
        else:  # the later layers now run in NHWC, not NCHW: other kernels, gradients equal to rounding
            torch.testing.assert_close(g_fast, g_before, rtol=1e-3, atol=1e-3 * g_before.abs().max().item(),
                                       msg=name)


def test_cumulative_momentum_batchnorm_matches_the_module():
    torch.manual_seed(9)
    ops = [nn.Sequential(nn.Conv2d(3, 3, 3, padding=1), nn.BatchNorm2d(3, affine=False, momentum=None))
           for _ in range(2)]
    lean = MixedOp(ops).train()
    plain = copy.deepcopy(lean)
    plain.lean_autograd = False
    w = torch.tensor([0.25, 0.75], requires_grad=True)
    for step in range(3):
        x = torch.randn(2, 3, 4, 4)
        outs = [mixed(x, w) for mixed in (lean, plain)]
        assert torch.equal(*outs)
        grads = [torch.autograd.grad(out.square().sum(), [w, *mixed.parameters()])
                 for out, mixed in zip(outs, (lean, plain))]
        assert all(torch.equal(a, b) for a, b in zip(*grads))
    for (name, b_lean), b_plain in zip(lean.named_buffers(), plain.buffers()):
        assert torch.equal(b_lean, b_plain), name
    with pytest.raises(ValueError, match='more than 1 value per channel'):
        lean(torch.randn(1, 3, 1, 1), w)


def test_bf16_autocast_gives_the_plain_graph_numbers():
    torch.manual_seed(10)
    lean = DartsSearchNetwork(channels=4, layers=3, num_classes=3).train()
    plain = copy.deepcopy(lean)
    set_mixed_op_flag(plain, 'lean_autograd', False)
    x, y = torch.randn(3, 3, 8, 8), torch.tensor([0, 1, 2])
    with torch.autocast('cpu', dtype=torch.bfloat16):
        _assert_identical_step(lean, plain, x, y)


def test_relu_runs_and_the_one_node_sum_keep_every_gradient_bit_identical():
    """ReLU candidates in several runs, with candidates between them that take x directly, and x feeding two
    edges: the order in which x's gradient is summed must be the plain graph's (float sums are not
    associative, so another order shows here)."""
    torch.manual_seed(7)
    names = ['sep_conv_3x3', 'skip_connect', 'dil_conv_3x3', 'sep_conv_5x5', 'avg_pool_3x3', 'dil_conv_5x5']
    edges = nn.ModuleList(MixedOp([darts_search_candidate(n, 4, 1) for n in names], names=names) for _ in range(2))
    plain = copy.deepcopy(edges)
    for edge in plain:
        edge.lean_autograd = False
    x0, alpha0 = torch.randn(2, 4, 7, 7), torch.randn(2, len(names))
    results = []
    for model in (edges, plain):
        x, alpha = x0.clone().requires_grad_(), alpha0.clone().requires_grad_()
        weights = F.softmax(alpha, dim=-1)
        hidden = x * 1.5  # x reaches both edges through one node, whose gradient sums theirs
        out = model[0](hidden, weights[0]) + model[1](hidden, weights[1]).sin()
        grads = torch.autograd.grad((out * out.detach().cos()).sum(), [x, alpha, *model.parameters()])
        results.append((out.detach(), grads))
    assert torch.equal(results[0][0], results[1][0])
    for g_lean, g_plain in zip(results[0][1], results[1][1]):
        assert torch.equal(g_lean, g_plain)
