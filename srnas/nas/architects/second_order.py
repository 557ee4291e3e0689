"""DARTS second-order (unrolled) architecture gradient with a finite-difference Hessian term.

The unrolled weights are the ones the weight optimizer's next step would give:

    w'   = step(w, g),  g = grad_w L_train(w, a)       (SGD with momentum/nesterov, Adam, AdamW)
    D    = -d w' / d g                                  (elementwise; SGD: xi, Adam: from its moments)
    d_a  = grad_a L_val(w', a),  v = grad_w' L_val(w', a),  u = D * v
    R    = fd_scale / ||u||
    hvp  = (grad_a L_train(w + R u, a) - grad_a L_train(w - R u, a)) / (2 R)   (= H_aw u)
    grad = d_a - hvp

With SGD this is DARTS's w' = w - xi (momentum + grad + wd w) and u = xi v. With Adam the step
is Adam's own, with its current moments and step count, so its sensitivity to g is not the
learning rate (unrolling Adam as SGD, as an earlier version did, makes the Hessian term almost
vanish: first order in disguise). ``xi`` overrides the optimizer's learning rate. Other
optimizers (and Adam with amsgrad or maximize) are refused with a clear error.
The weights are swapped in place and restored exactly; no model copy is made.
"""
import math
from typing import Callable, Optional

import torch

from srnas.nas.architects.direction import ARCHITECT_REGISTRY, Direction, number
from srnas.nas.architects.gradients import assign, global_norm, grad_wrt, values_restored
from srnas.nas.errors import NASConfigError


def _scalar(value):
    return float(value.item() if torch.is_tensor(value) else value)


class _SGDUnroll:
    """torch.optim.SGD's update: weight decay, momentum buffer (dampening), nesterov."""

    def __init__(self, group, state, lr):
        self.lr = lr
        self.wd = group.get('weight_decay', 0.0) or 0.0
        self.mu = group.get('momentum', 0.0) or 0.0
        self.dampening = group.get('dampening', 0.0) or 0.0
        self.nesterov = bool(group.get('nesterov', False))
        self.buf = state.get('momentum_buffer') if self.mu else None

    def apply(self, w, g):
        """(w', D) for weights ``w`` and raw gradient ``g``."""
        d_p = g + self.wd * w
        slope = 1.0  # d(direction)/dg
        if self.mu:
            if self.buf is None:  # first step: the buffer starts as the gradient itself
                buf, buf_slope = d_p, 1.0
            else:
                buf, buf_slope = self.mu * self.buf + (1 - self.dampening) * d_p, 1 - self.dampening
            if self.nesterov:
                d_p, slope = d_p + self.mu * buf, 1.0 + self.mu * buf_slope
            else:
                d_p, slope = buf, buf_slope
        return w - self.lr * d_p, torch.full_like(w, self.lr * slope)


class _AdamUnroll:
    """torch.optim.Adam / AdamW's update with the parameter's current moments and step count."""

    def __init__(self, group, state, lr):
        self.lr = lr
        self.beta1, self.beta2 = (_scalar(b) for b in group['betas'])
        self.eps = group['eps']
        self.wd = group.get('weight_decay', 0.0) or 0.0
        self.decoupled = bool(group.get('decoupled_weight_decay', False))
        self.exp_avg = state.get('exp_avg')
        self.exp_avg_sq = state.get('exp_avg_sq')
        self.step = int(_scalar(state.get('step', 0))) + 1

    def apply(self, w, g):
        b1, b2, lr = self.beta1, self.beta2, self.lr
        base = w * (1 - lr * self.wd) if self.decoupled else w
        g_eff = g if self.decoupled else g + self.wd * w
        m_prev = torch.zeros_like(w) if self.exp_avg is None else self.exp_avg
        v_prev = torch.zeros_like(w) if self.exp_avg_sq is None else self.exp_avg_sq
        m = b1 * m_prev + (1 - b1) * g_eff
        v = b2 * v_prev + (1 - b2) * g_eff * g_eff
        bias1, bias2_sqrt = 1 - b1 ** self.step, math.sqrt(1 - b2 ** self.step)
        root = v.sqrt()
        denom = root / bias2_sqrt + self.eps
        w_prime = base - (lr / bias1) * m / denom
        # -dw'/dg = lr/bias1 * [(1 - b1) / denom - m * d(denom)/dg / denom^2], d(denom)/dg = (1 - b2) g / (root bias2)
        positive = root > 0
        safe_root = torch.where(positive, root, torch.ones_like(root))
        d_denom = torch.where(positive, (1 - b2) * g_eff / (safe_root * bias2_sqrt), torch.zeros_like(root))
        sensitivity = (lr / bias1) * ((1 - b1) / denom - m * d_denom / denom ** 2)
        return w_prime, sensitivity


def _unroll_rules(weights, optimizer: torch.optim.Optimizer, xi: Optional[float]):
    """Per weight: the object computing its next optimizer step (None where the optimizer does not own it)."""
    if isinstance(optimizer, torch.optim.Adam):  # AdamW is a subclass (decoupled_weight_decay)
        kind = _AdamUnroll
    elif isinstance(optimizer, torch.optim.SGD):
        kind = _SGDUnroll
    else:
        raise NASConfigError(f'architect: second_order unrolls the weight optimizer step, which is implemented for '
                             f'SGD, Adam and AdamW, not {type(optimizer).__name__}; use first_order or a2m')
    by_id = {}
    for group in optimizer.param_groups:
        if group.get('maximize') or group.get('amsgrad'):
            flag = 'maximize' if group.get('maximize') else 'amsgrad'
            raise NASConfigError(f'architect: second_order cannot unroll {type(optimizer).__name__} with {flag}=True')
        lr = _scalar(group['lr']) if xi is None else xi
        for param in group['params']:
            by_id[id(param)] = kind(group, optimizer.state.get(param, {}), lr)
    return [by_id.get(id(w)) for w in weights]


def check_unrollable(optimizer: torch.optim.Optimizer) -> None:
    """Raise NASConfigError now if :func:`unrolled_arch_gradient` cannot unroll ``optimizer``."""
    _unroll_rules([], optimizer, None)


def unrolled_arch_gradient(model, loss_fn: Callable, train_batch, val_batch, weight_optimizer,
                           xi: Optional[float] = None, fd_scale: float = 0.01,
                           alpha_penalty: Optional[Callable[[], torch.Tensor]] = None):
    """Second-order DARTS gradient for ``model.arch_parameters()``; returns (grads, L_val(w', a))."""
    alphas = model.arch_parameters()
    weights = [w for w in model.weights() if w.requires_grad]
    rules = _unroll_rules(weights, weight_optimizer, xi)
    # Weights the optimizer does not own are not updated by the weight step, so they are not unrolled.
    unrolled = [(w, r) for w, r in zip(weights, rules) if r is not None]
    weights = [w for w, _ in unrolled]
    with values_restored(weights) as w0:
        train_grads = grad_wrt(loss_fn(model, train_batch), weights)
        steps = [rule.apply(base, g) for (_, rule), base, g in zip(unrolled, w0, train_grads)]
        assign(weights, [w_prime for w_prime, _ in steps])
        val_loss = loss_fn(model, val_batch)
        if alpha_penalty is not None:
            val_loss = val_loss + alpha_penalty()
        grads = grad_wrt(val_loss, alphas + weights)
        direct, v = grads[:len(alphas)], grads[len(alphas):]
        # u = D * v: with one SGD lr this is DARTS's xi * v, so w +- R u is its w +- eps v.
        u = [sensitivity * vi for (_, sensitivity), vi in zip(steps, v)]
        u_norm = global_norm(u)
        if u_norm > 0:
            radius = fd_scale / u_norm
            assign(weights, [base + radius * ui for base, ui in zip(w0, u)])
            g_plus = grad_wrt(loss_fn(model, train_batch), alphas)
            assign(weights, [base - radius * ui for base, ui in zip(w0, u)])
            g_minus = grad_wrt(loss_fn(model, train_batch), alphas)
            direct = [d - (gp - gm) / (2 * radius) for d, gp, gm in zip(direct, g_plus, g_minus)]
    return direct, val_loss.detach()


@ARCHITECT_REGISTRY.register()
class SecondOrder(Direction):
    name = 'second_order'
    options = {'xi': None, 'fd_scale': 0.01}

    def __init__(self, architect, xi, fd_scale):
        if architect.objective != 'val':
            raise NASConfigError("architect.objective 'train_plus_val' is a first-order objective (DLSR); "
                                 'second_order unrolls L_val only: use first_order or a2m')
        super().__init__(architect, xi=number('xi', xi, 0, allow_none=True),
                         fd_scale=number('fd_scale', fd_scale, 0, strict=True))
        if architect.weight_optimizer is None:
            raise NASConfigError('architect: type second_order needs the weight optimizer '
                                 '(Architect(..., weight_optimizer=opt)) to unroll the weight step')
        check_unrollable(architect.weight_optimizer)

    def compute(self, architect, val_loss, val_batch, train_batch, epoch):
        if train_batch is None:
            raise ValueError('second_order architect step needs train_batch (the unrolled weight step uses it)')
        return unrolled_arch_gradient(architect.model, architect.loss_fn, train_batch, val_batch,
                                      architect.weight_optimizer, self.xi, self.fd_scale,
                                      alpha_penalty=lambda: architect.regularization(epoch))
