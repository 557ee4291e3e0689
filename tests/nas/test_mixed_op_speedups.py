"""MixedOp speed-ups change no number: the skipped `none` op and zero-weight candidates in inference.

Truth: the naive sum (``skip_zero_candidates = False``: every candidate computed,
`none` as x * 0) and a hand-written softmax-weighted sum differentiated by autograd.
"""
import copy

import pytest
import torch
import torch.nn.functional as F

from classification.darts.search_net import DartsSearchNetwork
from classification.nb201.search_net import NB201SearchNetwork
from classification.ops import DARTS_PRIMITIVES, Zero, darts_search_candidate
from srnas.nas import MixedOp
from tests.nas.nas_core_toys import set_mixed_op_flag


def _step(model, x, y):
    loss = F.cross_entropy(model(x), y)
    grads = torch.autograd.grad(loss, list(model.parameters()))
    return loss.detach(), grads


@pytest.mark.parametrize('build', [
    lambda: DartsSearchNetwork(channels=4, layers=3, num_classes=3),
    lambda: DartsSearchNetwork(channels=4, layers=3, num_classes=3, partial_k=2, edge_normalization=True),
    lambda: NB201SearchNetwork(channels=4, cells_per_stage=1, num_classes=3),
], ids=['darts', 'pc_darts', 'nb201'])
def test_skipping_none_gives_identical_loss_gradients_and_buffers(build):
    torch.manual_seed(0)
    fast = build().train()
    with torch.no_grad():  # alphas far from uniform, so the `none` column's gradient is not tiny
        for alpha in fast.arch_parameters():
            alpha.normal_()
    naive = copy.deepcopy(fast)
    set_mixed_op_flag(naive, 'skip_zero_candidates', False)
    x, y = torch.randn(3, 3, 8, 8), torch.tensor([0, 1, 2])
    loss_fast, grads_fast = _step(fast, x, y)
    loss_naive, grads_naive = _step(naive, x, y)
    assert torch.equal(loss_fast, loss_naive)
    for (name, _), g_fast, g_naive in zip(fast.named_parameters(), grads_fast, grads_naive):
        torch.testing.assert_close(g_fast, g_naive, rtol=0, atol=1e-7, msg=name)
    none_column = [g[..., 0] for (name, _), g in zip(fast.named_parameters(), grads_fast) if 'alphas' in name]
    assert all(col.abs().max() > 0 for col in none_column)  # `none`'s alpha still gets its gradient
    for (name, b_fast), b_naive in zip(fast.named_buffers(), naive.buffers()):
        assert torch.equal(b_fast, b_naive), name


@pytest.mark.parametrize('stride', [1, 2])
def test_mixed_op_matches_the_softmax_formula_and_never_runs_none(stride):
    torch.manual_seed(1)
    ops = [darts_search_candidate(name, 4, stride) for name in DARTS_PRIMITIVES]
    mixed = MixedOp(ops, names=DARTS_PRIMITIVES).train()
    reference = copy.deepcopy(mixed)  # before the hook, so the reference does not count
    calls = []
    mixed.candidates[0].register_forward_hook(lambda *_: calls.append(1))
    x = torch.randn(2, 4, 6, 6)
    alpha = torch.randn(len(DARTS_PRIMITIVES), requires_grad=True)
    out = mixed(x, F.softmax(alpha, dim=0))
    (g_alpha,) = torch.autograd.grad((out * out).sum(), alpha)
    assert calls == []
    # Independent formula: sum_o softmax(alpha)_o * o(x), `none` as explicit zeros, stacked and contracted.
    alpha_ref = alpha.detach().clone().requires_grad_(True)
    outs = torch.stack([torch.zeros_like(out) if isinstance(op, Zero) else op(x) for op in reference.candidates])
    expected = torch.einsum('o,obchw->bchw', F.softmax(alpha_ref, dim=0), outs)
    (g_ref,) = torch.autograd.grad((expected * expected).sum(), alpha_ref)
    torch.testing.assert_close(out, expected, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(g_alpha, g_ref, rtol=1e-5, atol=1e-6)
    assert g_alpha[0].abs() > 0


def test_only_zero_candidates_still_give_zeros_of_the_right_shape():
    mixed = MixedOp([Zero(2), Zero(2)])
    weights = torch.tensor([0.3, 0.7], requires_grad=True)
    out = mixed(torch.randn(1, 2, 6, 6), weights)
    assert out.shape == (1, 2, 3, 3) and not out.any()


def test_zero_weights_are_skipped_in_inference_only():
    torch.manual_seed(2)
    names = ('skip_connect', 'sep_conv_3x3', 'avg_pool_3x3')
    mixed = MixedOp([darts_search_candidate(name, 4, 1) for name in names], names=names)
    naive = copy.deepcopy(mixed)
    naive.skip_zero_weights = False
    calls = {name: 0 for name in names}
    for name, op in zip(names, mixed.candidates):
        op.register_forward_hook(lambda *_, n=name: calls.__setitem__(n, calls[n] + 1))
    x, one_hot = torch.randn(2, 4, 5, 5), torch.tensor([0.0, 1.0, 0.0])
    mixed.eval()
    naive.eval()
    with torch.no_grad():
        out = mixed(x, one_hot)
        expected = naive(x, one_hot)
    assert torch.equal(out, expected)
    assert calls == {'skip_connect': 0, 'sep_conv_3x3': 1, 'avg_pool_3x3': 0}
    mixed.train()
    mixed(x, one_hot)  # training: every candidate runs (BN statistics and weight gradients stay exact)
    assert calls == {'skip_connect': 1, 'sep_conv_3x3': 2, 'avg_pool_3x3': 1}


def test_inference_compares_the_edge_weights_once_not_per_candidate():
    from collections import Counter

    from torch.utils._python_dispatch import TorchDispatchMode

    class CountOps(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.calls = Counter()

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.calls[func.overloadpacket.__name__] += 1
            return func(*args, **(kwargs or {}))

    names = ('skip_connect', 'sep_conv_3x3', 'avg_pool_3x3', 'max_pool_3x3')
    mixed = MixedOp([darts_search_candidate(name, 4, 1) for name in names], names=names).eval()
    with torch.no_grad(), CountOps() as count:
        mixed(torch.randn(2, 4, 5, 5), torch.tensor([0.0, 1.0, 0.0, 0.0]))
    assert count.calls['eq'] == 1  # one comparison for the edge (a GPU waits once for its result)
    assert count.calls['convolution'] == 4 and count.calls['avg_pool2d'] == 0  # only sep_conv_3x3 ran (4 convs)
