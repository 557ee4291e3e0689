"""DARTS second-order (unrolled) architecture gradient with a finite-difference Hessian term.

    w'   = w - xi * (momentum * m + grad_w L_train(w, a) + wd * w)
    d_a  = grad_a L_val(w', a),  v = grad_w' L_val(w', a)
    R    = fd_scale / ||v||        (DARTS: eps = 0.01 / ||grad_w' L_val||)
    hvp  = (grad_a L_train(w + R v, a) - grad_a L_train(w - R v, a)) / (2 R)
    grad = d_a - xi * hvp

``m``, ``momentum`` and ``wd`` come from the weight optimizer (SGD momentum
buffer; other optimizers unroll as plain SGD with their lr and weight decay).
The weights are swapped in place and restored exactly; no model copy is made.
"""
from typing import Callable, Optional, Sequence

import torch

from srnas.nas.architects.gradients import assign, global_norm, grad_wrt, values_restored


def _unroll_settings(weights: Sequence[torch.nn.Parameter], optimizer: torch.optim.Optimizer,
                     xi: Optional[float]):
    """Per-weight (step size, momentum term, weight decay) as the next optimizer step would use them."""
    by_id = {}
    for group in optimizer.param_groups:
        lr = group['lr'] if xi is None else xi
        momentum = group.get('momentum', 0.0) or 0.0
        weight_decay = group.get('weight_decay', 0.0) or 0.0
        for param in group['params']:
            buf = optimizer.state.get(param, {}).get('momentum_buffer') if momentum else None
            by_id[id(param)] = (lr, momentum * buf if buf is not None else None, weight_decay)
    return [by_id.get(id(w)) for w in weights]


def unrolled_arch_gradient(model, loss_fn: Callable, train_batch, val_batch, weight_optimizer,
                           xi: Optional[float] = None, fd_scale: float = 0.01,
                           alpha_penalty: Optional[Callable[[], torch.Tensor]] = None):
    """Second-order DARTS gradient for ``model.arch_parameters()``; returns (grads, L_val(w', a))."""
    alphas = model.arch_parameters()
    weights = [w for w in model.weights() if w.requires_grad]
    settings = _unroll_settings(weights, weight_optimizer, xi)
    # Weights the optimizer does not own are not updated by the weight step, so they are not unrolled.
    unrolled = [(w, s) for w, s in zip(weights, settings) if s is not None]
    weights = [w for w, _ in unrolled]
    with values_restored(weights) as w0:
        train_grads = grad_wrt(loss_fn(model, train_batch), weights)
        w_prime = []
        for (w, (lr, momentum_term, weight_decay)), base, g in zip(unrolled, w0, train_grads):
            step = g + weight_decay * base
            if momentum_term is not None:
                step = step + momentum_term
            w_prime.append(base - lr * step)
        assign(weights, w_prime)
        val_loss = loss_fn(model, val_batch)
        if alpha_penalty is not None:
            val_loss = val_loss + alpha_penalty()
        grads = grad_wrt(val_loss, alphas + weights)
        direct, v = grads[:len(alphas)], grads[len(alphas):]
        # Perturb along u = xi * v (xi per weight group): with one xi this is DARTS's w +- R v with
        # R = fd_scale / ||v||, and with several groups it still gives sum_g xi_g * H_aw_g v_g.
        u = [lr * vi for (_, (lr, _, _)), vi in zip(unrolled, v)]
        u_norm = global_norm(u)
        if u_norm > 0:
            radius = fd_scale / u_norm
            assign(weights, [base + radius * ui for base, ui in zip(w0, u)])
            g_plus = grad_wrt(loss_fn(model, train_batch), alphas)
            assign(weights, [base - radius * ui for base, ui in zip(w0, u)])
            g_minus = grad_wrt(loss_fn(model, train_batch), alphas)
            direct = [d - (gp - gm) / (2 * radius) for d, gp, gm in zip(direct, g_plus, g_minus)]
    return direct, val_loss.detach()
