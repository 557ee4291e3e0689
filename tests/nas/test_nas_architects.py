"""Architects against exact autograd truths, YAML composition, errors and save/resume."""
import copy
import io

import pytest
import torch
import torch.nn as nn
from tests.nas.nas_core_toys import SmoothSupernet, make_batch, mse_loss_fn
from torch.func import functional_call

from srnas.nas import NASConfigError, SupernetMixin, arch_softmax
from srnas.nas.architects import Architect, a2m_direction
from srnas.nas.regularizers import beta_loss, build_regularizers, flops_loss, sa_loss, total_regularization


def _rel_err(got, want):
    got = torch.cat([g.flatten() for g in got])
    want = torch.cat([w.flatten() for w in want])
    return ((got - want).norm() / want.norm()).item()


def _exact_a2m(loss_of, alphas, rho, center):
    """Double-backprop twins of A2M: (I + rho H(c)) grad L(a~), c = a or a~."""
    if center == 'alpha':
        grads = torch.autograd.grad(loss_of(alphas), alphas, create_graph=True)
        shifted = [a + rho * g for a, g in zip(alphas, grads)]
        return torch.autograd.grad(loss_of(shifted), alphas)
    grads = torch.autograd.grad(loss_of(alphas), alphas)
    tilde = [(a + rho * g).detach().requires_grad_() for a, g in zip(alphas, grads)]
    g_tilde = torch.autograd.grad(loss_of(tilde), tilde, create_graph=True)
    hvp = torch.autograd.grad(sum((g * g.detach()).sum() for g in g_tilde), tilde)
    return [g.detach() + rho * h for g, h in zip(g_tilde, hvp)]


def _functional_loss(model, batch, extra=None):
    """L(alpha) through functional_call, so the truth never touches the module's own alpha."""
    names = [n for n, _ in model.named_arch_parameters()]

    def loss_of(alpha_values):
        params = {**dict(model.named_parameters()), **dict(zip(names, alpha_values))}
        inputs, targets = batch
        loss = ((functional_call(model, params, (inputs,)) - targets) ** 2).mean()
        return loss if extra is None else loss + extra(alpha_values)
    return loss_of


@pytest.mark.parametrize('center', ['alpha', 'alpha_tilde'])
def test_a2m_direction_matches_double_backprop(center):
    model, batch = SmoothSupernet(), make_batch()
    alphas = model.arch_parameters()
    before = [a.detach().clone() for a in alphas]
    calls = []

    def loss_fn():
        calls.append(1)
        return mse_loss_fn(model, batch)

    rho = 0.3
    got = a2m_direction(loss_fn, alphas, rho=rho, eps=1e-5, center=center)
    want = _exact_a2m(_functional_loss(model, batch), [a.detach().clone().requires_grad_() for a in alphas],
                      rho, center)
    assert _rel_err(got, want) < 1e-4
    assert len(calls) == 4
    assert all(torch.equal(a, b) for a, b in zip(alphas, before))  # alpha restored exactly
    # the two centres really differ here, so each test checks its own formula
    other = a2m_direction(loss_fn, alphas, rho=rho, eps=1e-5, center='alpha' if center == 'alpha_tilde' else 'alpha_tilde')
    assert _rel_err(other, want) > 1e-3


def test_a2m_architect_puts_regularisers_in_every_evaluation():
    model, batch = SmoothSupernet(), make_batch()
    config = {'type': 'a2m', 'rho': 0.2, 'eps': 1e-5, 'regularizers': [
        {'type': 'sa', 'nu': 0.25, 'mu': 2.0, 'schedule': 1.5}, {'type': 'beta', 'weight': 0.7},
        {'type': 'flops', 'weight': 0.5}]}
    architect = Architect(model, mse_loss_fn, config)
    got, _ = architect.direction(batch, epoch=3)
    regs = build_regularizers(config['regularizers'])

    def penalty(values):
        a = values[0]
        return 1.5 * sa_loss(a, 0.25, 2.0) + 0.7 * beta_loss(a) + 0.5 * flops_loss(a, model._arch_costs_alpha)

    want = _exact_a2m(_functional_loss(model, batch, penalty),
                      [a.detach().clone().requires_grad_() for a in model.arch_parameters()], 0.2, 'alpha_tilde')
    assert _rel_err(got, want) < 1e-4
    # independent check that the penalty above is what the YAML regularisers compute
    with torch.no_grad():
        assert float(total_regularization(regs, model, 3)) == pytest.approx(float(penalty(model.arch_parameters())))


def _sgd_step_by_hand(w, g, state, lr, wd, momentum, nesterov):
    """torch.optim.SGD (dampening 0) written out: d = g + wd w; b = mu b + d; nesterov: d + mu b."""
    d = g + wd * w
    if momentum:
        buf = momentum * state['momentum_buffer'] + d if 'momentum_buffer' in state else d
        d = d + momentum * buf if nesterov else buf
    return w - lr * d


def _adam_step_by_hand(w, g, state, lr, wd, betas, eps, decoupled):
    """Adam (Kingma & Ba, Alg. 1) with torch's L2 or decoupled (AdamW) weight decay, written out."""
    b1, b2 = betas
    t = int(state['step']) + 1
    if decoupled:
        w = w * (1 - lr * wd)
    else:
        g = g + wd * w
    m = b1 * state['exp_avg'] + (1 - b1) * g
    v = b2 * state['exp_avg_sq'] + (1 - b2) * g * g
    m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
    return w - lr * m_hat / (v_hat.sqrt() + eps)


OPTIMIZERS = {
    'sgd_momentum': (lambda p: torch.optim.SGD(p, lr=0.2, momentum=0.9, weight_decay=3e-4),
                     lambda w, g, st: _sgd_step_by_hand(w, g, st, 0.2, 3e-4, 0.9, False)),
    'sgd_nesterov': (lambda p: torch.optim.SGD(p, lr=0.2, momentum=0.9, weight_decay=3e-4, nesterov=True),
                     lambda w, g, st: _sgd_step_by_hand(w, g, st, 0.2, 3e-4, 0.9, True)),
    'adam': (lambda p: torch.optim.Adam(p, lr=0.05, betas=(0.9, 0.999), weight_decay=3e-4),
             lambda w, g, st: _adam_step_by_hand(w, g, st, 0.05, 3e-4, (0.9, 0.999), 1e-8, False)),
    'adamw': (lambda p: torch.optim.AdamW(p, lr=0.05, betas=(0.5, 0.99), weight_decay=1e-2),
              lambda w, g, st: _adam_step_by_hand(w, g, st, 0.05, 1e-2, (0.5, 0.99), 1e-8, True)),
}


@pytest.mark.parametrize('optimizer', sorted(OPTIMIZERS))
def test_second_order_matches_exact_unrolled_hypergradient(optimizer):
    model, val_batch = SmoothSupernet(), make_batch(seed=1)
    train_batch = make_batch(seed=2)
    make_optimizer, step_by_hand = OPTIMIZERS[optimizer]
    weight_opt = make_optimizer(model.weights())
    for seed in (3, 4):  # two weight steps so that momentum buffers / Adam moments are not trivial
        mse_loss_fn(model, make_batch(seed=seed)).backward()
        weight_opt.step()
        weight_opt.zero_grad(set_to_none=True)
    model.zero_grad(set_to_none=True)
    weight_items = list(model.named_weights())
    states = [{k: (v.detach().clone() if torch.is_tensor(v) else v) for k, v in weight_opt.state[p].items()}
              for _, p in weight_items]

    # The hand-written step is the optimizer's: one real step from a copy gives the same weights.
    twin = copy.deepcopy(model)
    twin_opt = make_optimizer(twin.weights())
    twin_opt.load_state_dict(copy.deepcopy(weight_opt.state_dict()))  # load_state_dict shares tensors
    mse_loss_fn(twin, train_batch).backward()
    grads_now = [p.grad.detach().clone() for _, p in twin.named_weights()]
    twin_opt.step()
    for (_, p), (_, q), g, st in zip(weight_items, twin.named_weights(), grads_now, states):
        torch.testing.assert_close(step_by_hand(p.detach(), g, st), q.detach(), rtol=1e-10, atol=1e-12)

    # fd_scale 1e-3 instead of DARTS's 1e-2 so that the finite-difference truncation (~fd_scale^2) is tiny
    config = {'type': 'second_order', 'fd_scale': 1e-3,
              'regularizers': [{'type': 'sa', 'nu': 0.5, 'mu': 1.0, 'weight': 0.3}]}
    architect = Architect(model, mse_loss_fn, config, weight_optimizer=weight_opt)
    weights_before = {n: p.detach().clone() for n, p in model.named_weights()}
    got, _ = architect.direction(val_batch, epoch=0, train_batch=train_batch)
    assert all(torch.equal(p, weights_before[n]) for n, p in model.named_weights())

    # Truth: w'(alpha) = the optimizer's step written out above, differentiated through by autograd.
    arch_names = [n for n, _ in model.named_arch_parameters()]
    alphas = [a.detach().clone().requires_grad_() for a in model.arch_parameters()]
    weights = [p.detach().clone().requires_grad_() for _, p in weight_items]

    def loss_at(ws, alpha_values, batch):
        params = {**{n: w for (n, _), w in zip(weight_items, ws)}, **dict(zip(arch_names, alpha_values))}
        return ((functional_call(model, params, (batch[0],)) - batch[1]) ** 2).mean()

    grads_w = torch.autograd.grad(loss_at(weights, alphas, train_batch), weights, create_graph=True)
    w_prime = [step_by_hand(w, g, st) for w, g, st in zip(weights, grads_w, states)]
    val = loss_at(w_prime, alphas, val_batch) + 0.3 * sa_loss(alphas[0], 0.5, 1.0)
    want = torch.autograd.grad(val, alphas)
    assert _rel_err(got, want) < 1e-5
    # and the implicit term matters: first order is far from it
    first, _ = Architect(model, mse_loss_fn, {'regularizers': config['regularizers']}).direction(val_batch, 0)
    assert _rel_err(first, want) > 1e-2


@pytest.mark.parametrize('make_optimizer,message', [
    (lambda p: torch.optim.RMSprop(p, lr=0.1), 'SGD, Adam and AdamW, not RMSprop'),
    (lambda p: torch.optim.Adam(p, lr=0.1, amsgrad=True), 'amsgrad=True'),
])
def test_second_order_refuses_optimizers_it_cannot_unroll(make_optimizer, message):
    model = SmoothSupernet()
    with pytest.raises(NASConfigError, match=message):
        Architect(model, mse_loss_fn, {'type': 'second_order'}, weight_optimizer=make_optimizer(model.weights()))


def test_first_order_is_alpha_gradient_only():
    model, batch = SmoothSupernet(), make_batch()
    architect = Architect(model, mse_loss_fn, {'type': 'first_order', 'regularizers': [{'type': 'beta', 'weight': 2.0}]})
    got, _ = architect.direction(batch, epoch=0)
    loss = mse_loss_fn(model, batch) + 2.0 * beta_loss(model.alpha)
    want = torch.autograd.grad(loss, model.arch_parameters())
    assert _rel_err(got, want) < 1e-12
    architect.step(batch, epoch=0)
    assert all(p.grad is None for p in model.weights())


@pytest.mark.parametrize('kind', ['first_order', 'a2m'])
def test_alpha_only_steps_give_the_weights_back_trainable(kind):
    model, batch = SmoothSupernet(), make_batch()
    frozen_before = [p for p in model.weights() if not p.requires_grad]
    Architect(model, mse_loss_fn, {'type': kind}).step(batch, epoch=0)
    # weights are frozen only inside the architect's evaluations
    assert [p for p in model.weights() if not p.requires_grad] == frozen_before
    loss = mse_loss_fn(model, batch)
    assert all(g is not None for g in torch.autograd.grad(loss, model.weights()))


ARCHITECT_CONFIGS = [{'type': 'first_order'}, {'type': 'second_order'},
                     {'type': 'a2m', 'rho': 0.1, 'center': 'alpha'}, {'type': 'a2m'}]
REGULARIZER_SETS = [[], [{'type': 'sa'}], [{'type': 'beta'}], [{'type': 'flops', 'weight': 1.0}],
                    [{'type': 'sa', 'nu': 0.25, 'mu': 1e6}, {'type': 'l2', 'weight': 1e-3},
                     {'type': 'flops', 'weight': 0.1}, {'type': 'beta', 'groups': ['op', 'edge']}]]


@pytest.mark.parametrize('base', ARCHITECT_CONFIGS, ids=lambda c: c.get('center', c['type']))
@pytest.mark.parametrize('regs', REGULARIZER_SETS, ids=lambda r: '+'.join(x['type'] for x in r) or 'none')
def test_any_architect_composes_with_any_regularisers(base, regs):
    model = SmoothSupernet(dtype=torch.float32)
    batch = make_batch(dtype=torch.float32)
    weight_opt = torch.optim.SGD(model.weights(), lr=0.05, momentum=0.9)
    config = {**base, 'regularizers': regs, 'optimizer': {'lr': 0.05}, 'grad_clip': 5.0}
    architect = Architect(model, mse_loss_fn, config, weight_optimizer=weight_opt)
    before = model.alpha.detach().clone()
    for epoch in range(1, 3):
        stats = architect.step(batch, epoch=epoch, train_batch=batch)
        assert stats['updated'] and torch.isfinite(torch.tensor(stats['val_loss']))
    assert not torch.equal(model.alpha.detach(), before)
    expected_wd = 0.0 if any(r['type'] == 'sa' for r in regs) else 1e-3
    assert architect.optimizer.param_groups[0]['weight_decay'] == expected_wd


def test_warmup_freezes_alpha_and_clip_bounds_the_step():
    model, batch = SmoothSupernet(), make_batch()
    architect = Architect(model, mse_loss_fn, {'warmup_epochs': 2, 'grad_clip': 1e-3,
                                               'optimizer': {'type': 'sgd', 'lr': 1.0, 'weight_decay': 0.0}})
    before = [a.detach().clone() for a in model.arch_parameters()]
    assert architect.step(batch, epoch=1) == {'updated': False}
    assert all(torch.equal(a, b) for a, b in zip(model.arch_parameters(), before))
    stats = architect.step(batch, epoch=2)
    assert stats['alpha_grad_norm'] > 1e-3
    moved = torch.cat([(a - b).flatten() for a, b in zip(model.arch_parameters(), before)]).norm().item()
    assert moved == pytest.approx(1e-3, rel=1e-5)


def test_architect_steps_leave_batchnorm_statistics_alone():
    class BNSupernet(SupernetMixin, nn.Module):
        def __init__(self):
            super().__init__()
            self.bn = nn.BatchNorm1d(3)
            self.register_arch_parameter('alpha', torch.zeros(1, 3))

        def forward(self, x):
            return (self.bn(x) * arch_softmax(self.alpha)[0]).sum(-1)

    model = BNSupernet()
    batch = (torch.randn(8, 3) + 5, torch.randn(8))
    for config in ARCHITECT_CONFIGS:
        weight_opt = torch.optim.SGD(model.weights(), lr=0.1)
        Architect(model, mse_loss_fn, config, weight_opt).step(batch, epoch=0, train_batch=batch)
        assert torch.equal(model.bn.running_mean, torch.zeros(3))


@pytest.mark.parametrize('config,message', [
    ({'type': 'third_order'}, "architect.type must be one of"),
    ({'type': 'a2m', 'rho': -0.1}, 'rho must be a number >= 0'),
    ({'type': 'a2m', 'eps': 0}, 'eps must be a number > 0'),
    ({'type': 'a2m', 'center': 'beta'}, 'center must be one of'),
    ({'type': 'first_order', 'rho': 0.1}, r"\['rho'\] apply to another architect type"),
    ({'type': 'first_order', 'lr': 0.1}, r"unknown option\(s\) \['lr'\]"),
    ({'optimizer': {'type': 'rmsprop'}}, "optimizer.type must be 'adam' or 'sgd'"),
    ({'optimizer': {'lr': -1}}, 'optimizer.lr must be > 0'),
    ({'optimizer': {'betas': [0.5]}}, 'betas must be two numbers'),
    ({'warmup_epochs': -1}, 'warmup_epochs must be >= 0'),
    ({'grad_clip': 0}, 'grad_clip must be > 0'),
    ({'regularizers': [{'type': 'sam'}]}, "regularizers\\[0\\]: unknown regulariser type 'sam'"),
    ({'type': 'second_order'}, 'needs the weight optimizer'),
])
def test_bad_architect_configs_are_clear_errors(config, message):
    with pytest.raises(NASConfigError, match=message):
        Architect(SmoothSupernet(), mse_loss_fn, config)


def test_flops_regulariser_needs_declared_costs():
    class NoCosts(SupernetMixin, nn.Module):
        def __init__(self):
            super().__init__()
            self.register_arch_parameter('alpha', torch.zeros(2, 3))

    with pytest.raises(NASConfigError, match='declares no per-candidate costs'):
        Architect(NoCosts(), mse_loss_fn, {'regularizers': [{'type': 'flops', 'weight': 1}]})


@pytest.mark.parametrize('kind', ['first_order', 'a2m'])
def test_save_resume_reproduces_alpha_and_optimizer_exactly(kind):
    batches = [make_batch(seed=s, dtype=torch.float32) for s in range(6)]
    config = {'type': kind, 'regularizers': [{'type': 'sa'}], 'optimizer': {'lr': 0.01}}
    model = SmoothSupernet(dtype=torch.float32)
    architect = Architect(model, mse_loss_fn, config)
    for epoch, batch in enumerate(batches[:3]):
        architect.step(batch, epoch)
    buffer = io.BytesIO()
    torch.save({'architect': architect.state_dict(), 'model': model.state_dict()}, buffer)

    resumed_model = SmoothSupernet(dtype=torch.float32, seed=99)  # different alpha and weights
    resumed = Architect(resumed_model, mse_loss_fn, config)
    buffer.seek(0)
    state = torch.load(buffer)
    resumed_model.load_state_dict(state['model'])
    resumed.load_state_dict(state['architect'])
    for epoch, batch in enumerate(batches[3:], start=3):
        architect.step(batch, epoch)
        resumed.step(batch, epoch)
    for a, b in zip(model.arch_parameters(), resumed_model.arch_parameters()):
        assert torch.equal(a, b)
    original_state = architect.optimizer.state_dict()['state']
    for key, value in resumed.optimizer.state_dict()['state'].items():
        for name, tensor in value.items():
            assert torch.equal(torch.as_tensor(tensor), torch.as_tensor(original_state[key][name]))
    assert resumed.num_steps == architect.num_steps == 6


def test_load_state_dict_rejects_a_foreign_state():
    architect = Architect(SmoothSupernet(), mse_loss_fn, {})
    state = architect.state_dict()
    state['alphas'] = {'gamma': torch.zeros(2)}
    with pytest.raises(NASConfigError, match='holds alphas'):
        architect.load_state_dict(state)


@pytest.mark.parametrize('kind', ['first_order', 'a2m'])
def test_relative_flops_weight_matches_the_data_gradient_norm(kind):
    # Truth by autograd on the toy: w = r * ||grad_alpha L_val|| / ||grad_alpha Eq.18|| at the current alpha.
    model, batch = SmoothSupernet(), make_batch()
    config = {'type': kind, 'regularizers': [{'type': 'flops', 'relative': 0.3}]}
    if kind == 'a2m':
        config.update(rho=0.05, eps=0.01)
    architect = Architect(model, mse_loss_fn, config)
    got, _ = architect.direction(batch, 0)
    alpha = model.alpha
    data_grad = torch.autograd.grad(mse_loss_fn(model, batch), alpha)[0]
    flops_grad = torch.autograd.grad(flops_loss(alpha, model._arch_costs_alpha), alpha)[0]
    weight = 0.3 * data_grad.norm() / flops_grad.norm()
    assert architect.regularizers[0].calibrated_weight == pytest.approx(weight.item(), rel=1e-9)
    if kind == 'first_order':
        want = torch.autograd.grad(mse_loss_fn(model, batch) + weight * flops_loss(alpha, model._arch_costs_alpha),
                                   model.arch_parameters())
        assert _rel_err(got, want) < 1e-10
        assert (weight * flops_grad).norm() == pytest.approx(0.3 * data_grad.norm().item(), rel=1e-9)
    with pytest.raises(NASConfigError, match='relative sets the weight itself'):
        build_regularizers([{'type': 'flops', 'relative': 0.3, 'weight': 1.0}])


def test_buffer_keeper_restores_every_buffer_across_steps_and_a_dtype_change():
    from srnas.nas.architects.gradients import BufferKeeper, assign
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.BatchNorm1d(4, momentum=None)).train()
    keeper = BufferKeeper()
    for dtype in (torch.float32, torch.float32, torch.float64):  # the copies are reused, then remade
        model.to(dtype)
        model(torch.randn(8, 3, dtype=dtype))  # move the statistics off their initial values
        before = [b.clone() for b in model.buffers()]
        with keeper.restored(model):
            model(torch.randn(8, 3, dtype=dtype) + 3)
            assert not torch.equal(model[1].running_mean, before[0])  # the block did move them
        after = list(model.buffers())
        assert [b.dtype for b in after] == [b.dtype for b in before]
        assert all(torch.equal(a, b) for a, b in zip(after, before))  # num_batches_tracked included
    with pytest.raises(ValueError, match='2 tensors but 1 values'):
        assign([torch.zeros(1), torch.zeros(1)], [torch.ones(1)])


def test_architect_holds_the_models_weight_and_alpha_lists():
    model = SmoothSupernet()
    architect = Architect(model, mse_loss_fn, {'type': 'first_order'})
    assert [id(p) for p in architect.weights] == [id(p) for p in model.weights()]
    assert [id(p) for p in architect.alphas] == [id(p) for p in model.arch_parameters()]
