"""Architect.last_grad_norms: each term's alpha-gradient norm against autograd of that term alone."""
import pytest
import torch
from tests.nas.nas_core_toys import SmoothSupernet, make_batch, mse_loss_fn

from srnas.nas.architects import Architect, a2m_direction
from srnas.nas.regularizers import beta_loss, flops_loss, sa_loss

REGS = [{'type': 'sa', 'nu': 0.25, 'mu': 2.0, 'schedule': {'type': 'epoch_over_k', 'k': 5}},
        {'type': 'beta', 'weight': 0.7}, {'type': 'flops', 'weight': 0.5}, {'type': 'l2', 'weight': 0.2}]


def _norm(tensors):
    return torch.cat([t.flatten() for t in tensors]).norm().item()


def _term_grads(model, batch, epoch):
    """Each term of the first-order loss differentiated on its own (independent formulas, not the YAML path)."""
    alphas = model.arch_parameters()
    a = model.alpha
    terms = {'data': mse_loss_fn(model, batch),
             'sa': (epoch + 1) / 5 * sa_loss(a, 0.25, 2.0),  # SA-DARTS counts epochs from 1
             'beta': 0.7 * beta_loss(a),
             'flops': 0.5 * flops_loss(a, model._arch_costs_alpha),
             'l2': 0.2 * (a ** 2).sum()}
    return {k: torch.autograd.grad(v, alphas, allow_unused=True) for k, v in terms.items()}


def _filled(grads, alphas):
    return [torch.zeros_like(a) if g is None else g for g, a in zip(grads, alphas)]


def test_first_order_norms_equal_autograd_of_each_term():
    model, batch = SmoothSupernet(), make_batch()
    architect = Architect(model, mse_loss_fn, {'type': 'first_order', 'regularizers': REGS})
    want = {k: _filled(g, model.arch_parameters()) for k, g in _term_grads(model, batch, epoch=3).items()}
    architect.step(batch, epoch=3)
    got = architect.last_grad_norms
    assert set(got) == {'data', 'sa', 'beta', 'flops', 'l2', 'total'}
    for key in ('data', 'sa', 'beta', 'flops', 'l2'):
        assert got[key] == pytest.approx(_norm(want[key]), rel=1e-10), key
    total = [sum(parts) for parts in zip(*want.values())]
    assert got['total'] == pytest.approx(_norm(total), rel=1e-10)
    # the terms really differ in size here, so a mix-up of keys would be caught
    assert len({round(v, 6) for v in got.values()}) == len(got)


def test_second_order_data_norm_is_the_unregularised_hypergradient():
    model, val_batch, train_batch = SmoothSupernet(), make_batch(seed=1), make_batch(seed=2)
    weight_opt = torch.optim.SGD(model.weights(), lr=0.2, momentum=0.9)
    regs = [{'type': 'sa', 'nu': 0.5, 'mu': 1.0, 'weight': 0.3}]
    plain = Architect(model, mse_loss_fn, {'type': 'second_order', 'fd_scale': 1e-3}, weight_optimizer=weight_opt)
    want_data, _ = plain.direction(val_batch, 0, train_batch)
    architect = Architect(model, mse_loss_fn, {'type': 'second_order', 'fd_scale': 1e-3, 'regularizers': regs},
                          weight_optimizer=weight_opt)
    want_sa = torch.autograd.grad(0.3 * sa_loss(model.alpha, 0.5, 1.0), model.arch_parameters(), allow_unused=True)
    architect.step(val_batch, 0, train_batch=train_batch)
    got = architect.last_grad_norms
    assert got['data'] == pytest.approx(_norm(want_data), rel=1e-8)
    assert got['sa'] == pytest.approx(_norm(_filled(want_sa, model.arch_parameters())), rel=1e-10)


def test_a2m_with_the_linear_sa_loss_splits_exactly():
    """SA's Eq. 8 (nu = 1) has the same gradient lambda/N on every entry: its Hessian is 0 and the shift it adds
    to alpha~ is constant along each softmax row, which the data loss cannot see. So A2M's direction is exactly
    A2M of the data loss alone plus lambda/N, and the data norm equals that of a2m_direction on the data loss."""
    model, batch = SmoothSupernet(), make_batch()
    rho, eps, lam = 0.2, 1e-5, 2.0
    architect = Architect(model, mse_loss_fn, {'type': 'a2m', 'rho': rho, 'eps': eps, 'regularizers': [
        {'type': 'sa', 'weight': lam}]})
    n = sum(a.numel() for a in model.arch_parameters() if a is model.alpha)
    sa_grad = [torch.full_like(model.alpha, lam / n), torch.zeros_like(model.edge)]
    want, _ = architect.direction(batch, epoch=0)
    plain = a2m_direction(lambda: mse_loss_fn(model, batch), model.arch_parameters(), rho, eps)
    architect.step(batch, epoch=0)
    got = architect.last_grad_norms
    assert got['sa'] == pytest.approx(_norm(sa_grad), rel=1e-12)
    assert got['data'] == pytest.approx(_norm([w - s for w, s in zip(want, sa_grad)]), rel=1e-10)
    assert got['total'] == pytest.approx(_norm(want), rel=1e-12)
    assert got['data'] == pytest.approx(_norm(plain), rel=1e-8)


def test_total_is_the_clipped_direction_and_warmup_clears_the_norms():
    model, batch = SmoothSupernet(), make_batch()
    architect = Architect(model, mse_loss_fn, {'grad_clip': 1e-3, 'warmup_epochs': 1,
                                              'regularizers': [{'type': 'beta', 'weight': 1.0}]})
    architect.step(batch, epoch=1)
    assert architect.last_grad_norms['total'] == pytest.approx(1e-3, rel=1e-5)  # clip divides by norm + 1e-6
    assert architect.last_grad_norms['data'] > 1e-3
    architect.step(batch, epoch=0)
    assert architect.last_grad_norms == {}


def test_repeated_regulariser_names_get_their_own_keys():
    model, batch = SmoothSupernet(), make_batch()
    architect = Architect(model, mse_loss_fn, {'regularizers': [{'type': 'l2', 'weight': 1.0},
                                                                {'type': 'l2', 'weight': 3.0}]})
    architect.step(batch, epoch=0)
    norms = architect.last_grad_norms
    assert norms['l2_2'] == pytest.approx(3 * norms['l2'], rel=1e-12)
