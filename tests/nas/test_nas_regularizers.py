"""Regularisers against independent formulas, their schedules and the YAML builder."""
import math

import pytest
import torch
import torch.nn.functional as F
from tests.nas.nas_core_toys import ToyEdgeSupernet

from srnas.nas import NASConfigError, beta_loss, build_regularizers, build_schedule, flops_loss, l2_loss, sa_loss


def _eq7_by_hand(values, nu, mu):
    """SA-DARTS Eq. 7 with lambda = 1, elementwise in Python floats."""
    terms = [((1 + nu) * a + (1 - nu) * a * math.erf(mu * (1 - nu) * a)) / 2 for a in values]
    return sum(terms) / len(terms)


@pytest.mark.parametrize('nu,mu', [(0.25, 1.0), (0.0, 3.0), (0.75, 0.5), (-0.5, 2.0)])
def test_sa_loss_matches_eq7(nu, mu):
    torch.manual_seed(0)
    normal, reduce = torch.randn(14, 8, dtype=torch.float64), torch.randn(14, 8, dtype=torch.float64)
    expected = _eq7_by_hand(normal.flatten().tolist() + reduce.flatten().tolist(), nu, mu)
    assert sa_loss([normal, reduce], nu, mu).item() == pytest.approx(expected, rel=1e-12)


def test_sa_loss_special_cases():
    torch.manual_seed(1)
    alpha = torch.randn(6, 5, dtype=torch.float64)
    # nu = 1: the mean (Eq. 8); mu = 0: the mean scaled by (1 + nu) / 2 (Eq. 8 up to lambda)
    assert sa_loss(alpha, nu=1.0, mu=7.0).item() == pytest.approx(alpha.mean().item(), rel=1e-12)
    assert sa_loss(alpha, nu=0.3, mu=0.0).item() == pytest.approx(0.65 * alpha.mean().item(), rel=1e-12)
    # mu = 1/sqrt(2), nu = 0: GELU
    gelu = F.gelu(alpha).mean().item()
    assert sa_loss(alpha, nu=0.0, mu=1 / math.sqrt(2)).item() == pytest.approx(gelu, rel=1e-12)
    # mu = 1e6, nu = 0.25: leaky ReLU with slope 0.25 (values kept away from 0)
    away = alpha + torch.sign(alpha) * 0.01
    leaky = F.leaky_relu(away, 0.25).mean().item()
    assert sa_loss(away, nu=0.25, mu=1e6).item() == pytest.approx(leaky, rel=1e-12)


def test_beta_and_l2_losses_by_hand():
    alpha = [torch.tensor([[0.0, 1.0], [2.0, 3.0]]), torch.tensor([1.0, -1.0])]
    edges = [math.log(1 + math.e), math.log(math.e ** 2 + math.e ** 3), math.log(math.e + math.exp(-1))]
    assert beta_loss(alpha).item() == pytest.approx(sum(edges) / 3, rel=1e-6)
    assert l2_loss(alpha).item() == pytest.approx(0 + 1 + 4 + 9 + 1 + 1)


def test_flops_loss_value_gradient_and_descent():
    costs = torch.tensor([[1.0, 3.0, 6.0], [2.0, 2.0, 4.0]])
    alpha = torch.zeros(2, 3, requires_grad=True)
    value = flops_loss(alpha, costs)
    assert value.item() == pytest.approx((10 / 3) / 10 + (8 / 3) / 8)  # uniform probabilities: mean cost / sum
    value.backward()
    assert alpha.grad.abs().sum() > 0
    expected_cost = lambda a: (torch.softmax(a, -1) * costs).sum().item()  # noqa: E731
    start = expected_cost(alpha.detach())
    opt = torch.optim.SGD([alpha], lr=1.0)
    for _ in range(50):
        opt.zero_grad()
        flops_loss(alpha, costs).backward()
        opt.step()
    assert expected_cost(alpha.detach()) < 0.8 * start
    assert torch.softmax(alpha.detach(), -1)[0].argmax().item() == 0  # cheapest op wins


class _CostedEdge(ToyEdgeSupernet):
    """One mixed op of 3 candidates with Multi-Adds 1, 2, 7 (dearest = 7)."""

    def __init__(self):
        super().__init__(num_ops=3)
        self.set_arch_costs('alpha', torch.tensor([1.0, 2.0, 7.0]))


def test_flops_target_is_a_squared_hinge_on_the_cost_fraction():
    model = _CostedEdge()
    with torch.no_grad():
        model.alpha.copy_(torch.tensor([0.0, math.log(2.0), math.log(5.0)]))  # probabilities 1/8, 2/8, 5/8
    fraction = (1 * 1 + 2 * 2 + 5 * 7) / 8 / 7  # expected Multi-Adds over the dearest choice = 5/7
    reg, = build_regularizers([{'type': 'flops', 'target': 0.5}])
    assert reg.coefficient(0) == 1.0  # documented default weight of the budget form
    assert reg(model, 0).item() == pytest.approx((fraction - 0.5) ** 2, rel=1e-6)
    loose, = build_regularizers([{'type': 'flops', 'target': 0.8}])
    value = loose(model, 0)
    assert value.item() == 0.0 and not torch.autograd.grad(value, model.alpha, allow_unused=True)[0].abs().sum()


def _settled_cost_fraction(flops_spec, steps=400):
    """Descend a 'quality' term that prefers the dearest op (gradient ~1e-3, like an L1 term) plus the FLOPs term."""
    model = _CostedEdge()
    reg, = build_regularizers([flops_spec])
    opt = torch.optim.Adam([model.alpha], lr=0.05)
    for _ in range(steps):
        opt.zero_grad()
        quality = -1e-3 * torch.softmax(model.alpha, -1)[2]
        (quality + reg(model, 0)).backward()
        opt.step()
    probs = torch.softmax(model.alpha.detach(), -1)
    return float((probs * torch.tensor([1.0, 2.0, 7.0])).sum() / 7)


def test_flops_target_sets_the_cost_the_search_settles_at():
    # Eq. 18 with weight 1 drowns the quality term: the cheapest op, whatever quality wants.
    assert _settled_cost_fraction({'type': 'flops', 'weight': 1.0}) < 0.2
    settled = [_settled_cost_fraction({'type': 'flops', 'target': t}) for t in (0.3, 0.5, 0.7)]
    assert settled == pytest.approx([0.3, 0.5, 0.7], abs=0.03)  # at the budget, not below it
    assert _settled_cost_fraction({'type': 'flops', 'target': 1.0}) > 0.9  # no budget: quality decides


def _top2_gap_after_search(regularizer_spec, steps=300, steps_per_epoch=30):
    """One toy edge of 5 ops whose validation loss prefers ops 0 and 1 almost equally."""
    torch.manual_seed(0)
    model = ToyEdgeSupernet(num_ops=5)
    regs = build_regularizers([regularizer_spec])
    reward = torch.tensor([1.0, 0.97, 0.4, 0.2, 0.0])
    opt = torch.optim.Adam(model.arch_parameters(), lr=0.01, betas=(0.5, 0.999))
    for step in range(steps):
        epoch = step // steps_per_epoch
        loss = -(torch.softmax(model.alpha, -1) * reward).sum() + regs[0](model, epoch)
        opt.zero_grad()
        loss.backward()
        opt.step()
    probs = torch.softmax(model.alpha.detach(), -1).sort(descending=True).values
    return (probs[0] - probs[1]).item()


def test_sa_spreads_top2_more_than_beta():
    sa_gap = _top2_gap_after_search({'type': 'sa', 'schedule': {'type': 'epoch_over_k', 'k': 5}})
    beta_gap = _top2_gap_after_search({'type': 'beta', 'schedule': {'type': 'epoch_over_k', 'k': 5}})
    assert sa_gap > 2 * beta_gap


def test_schedules_follow_the_epoch():
    assert build_schedule({'type': 'epoch_over_k', 'k': 5})(10) == 2.0
    assert build_schedule({'type': 'linear', 'start': 1.0, 'slope': 0.5})(4) == 3.0
    ramp = build_schedule({'type': 'ramp', 'start': 0.0, 'end': 1.0, 'start_epoch': 2, 'end_epoch': 6})
    assert [ramp(e) for e in (0, 2, 4, 6, 9)] == [0.0, 0.0, 0.5, 1.0, 1.0]
    assert build_schedule(0.3)(100) == 0.3


def test_regularizer_uses_schedule_times_penalty():
    model = ToyEdgeSupernet(num_ops=4)
    sa, beta = build_regularizers([{'type': 'sa', 'nu': 0.5, 'mu': 2.0}, {'type': 'beta'}])
    alpha = model.alpha.detach()
    # loop epoch 9 is SA-DARTS's e = 10: lambda = 10 / 5
    assert sa(model, 9).item() == pytest.approx(2.0 * _eq7_by_hand(alpha.flatten().tolist(), 0.5, 2.0), rel=1e-6)
    assert beta(model, 4).item() == pytest.approx(2.0 * beta_loss(alpha).item(), rel=1e-6)


def test_sa_lambda_counts_epochs_from_one_as_algorithm_1():
    # SA-DARTS Algorithm 1: for e = 1..E, lambda_e = e / 5, so the first epoch already has lambda = 0.2.
    sa, = build_regularizers([{'type': 'sa'}])
    assert [sa.coefficient(epoch) for epoch in (0, 1, 4)] == pytest.approx([0.2, 0.4, 1.0])
    model = ToyEdgeSupernet(num_ops=4)
    assert sa(model, 0).item() == pytest.approx(0.2 * model.alpha.detach().mean().item(), rel=1e-6)
    zero_based, = build_regularizers([{'type': 'sa', 'first_epoch': 0}])
    assert zero_based.coefficient(0) == 0.0 and zero_based.coefficient(5) == 1.0
    beta, = build_regularizers([{'type': 'beta'}])  # beta-DARTS keeps its 0-based 0.5 * epoch
    assert beta.coefficient(0) == 0.0 and beta.coefficient(2) == 1.0


@pytest.mark.parametrize('spec,message', [
    ({'type': 'sa', 'first_epoch': 2}, 'first_epoch must be 0 or 1'),
    ({'type': 'sharpness'}, "unknown regulariser type 'sharpness'"),
    ({'type': 'sa', 'lambda': 1}, r"unknown option\(s\) \['lambda'\]"),
    ({'type': 'sa', 'nu': 'high'}, 'nu must be a finite number'),
    ({'type': 'flops'}, "'flops' needs a weight or a schedule"),
    ({'type': 'flops', 'target': 1.5}, 'target is a fraction'),
    ({'type': 'l2', 'weight': 1, 'schedule': 1}, 'either weight'),
    ({'type': 'sa', 'schedule': {'type': 'epoch_over_k', 'k': -5}}, 'k must be > 0'),
    ({'type': 'sa', 'schedule': {'type': 'cosine'}}, "unknown schedule type 'cosine'"),
    ({'type': 'beta', 'groups': ['cells']}, 'groups must be'),
])
def test_builder_errors_name_the_option(spec, message):
    with pytest.raises(NASConfigError, match=message) as info:
        build_regularizers([spec])
    assert 'regularizers[0]' in str(info.value)
