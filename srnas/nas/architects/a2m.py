"""A2M (Architecture-Aware Minimization), Eq. 8 of the A2M paper, gradients w.r.t. alpha only.

    a~   = a + rho * grad L(a)                   (unnormalised ascent, USAM)
    g    = grad L(a~)
    c    = a~ (official code, default) or a (as written in the paper)
    a+-  = c +- eps * g
    d    = g + rho * (grad L(a+) - grad L(a-)) / (2 eps)

``d`` approximates ``grad_a L(a + rho grad L(a)) = (I + rho H(a)) g`` for
``c = a`` and ``(I + rho H(a~)) g`` for ``c = a~``. Four loss evaluations,
each differentiated w.r.t. alpha only; alpha is restored exactly afterwards.
"""
from typing import Callable, List, Sequence, Tuple

import torch

from srnas.nas.architects.direction import ARCHITECT_REGISTRY, Direction
from srnas.nas.architects.gradients import assign, grad_wrt, values_restored, weights_frozen
from srnas.nas.errors import NASConfigError

A2M_CENTERS = ('alpha', 'alpha_tilde')


def check_a2m_options(rho: float, eps: float, center: str, where: str = 'a2m') -> None:
    if isinstance(rho, bool) or not isinstance(rho, (int, float)) or not rho >= 0:
        raise NASConfigError(f'{where}: rho must be a number >= 0, got {rho!r}')
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not eps > 0:
        raise NASConfigError(f'{where}: eps must be a number > 0, got {eps!r}')
    if center not in A2M_CENTERS:
        raise NASConfigError(f'{where}: center must be one of {A2M_CENTERS}, got {center!r}')


def a2m_direction_and_loss(loss_fn: Callable[[], torch.Tensor], alphas: Sequence[torch.Tensor], rho: float,
                           eps: float = 1e-2, center: str = 'alpha_tilde') -> Tuple[List[torch.Tensor], torch.Tensor]:
    """Like ``a2m_direction`` and also returns L(alpha) (detached) from the first evaluation."""
    check_a2m_options(rho, eps, center)
    alphas = list(alphas)
    with values_restored(alphas) as alpha:
        loss0 = loss_fn()
        g0 = grad_wrt(loss0, alphas)
        alpha_tilde = [a + rho * g for a, g in zip(alpha, g0)]
        assign(alphas, alpha_tilde)
        g_tilde = grad_wrt(loss_fn(), alphas)
        centre = alpha_tilde if center == 'alpha_tilde' else alpha
        assign(alphas, [c + eps * g for c, g in zip(centre, g_tilde)])
        g_plus = grad_wrt(loss_fn(), alphas)
        assign(alphas, [c - eps * g for c, g in zip(centre, g_tilde)])
        g_minus = grad_wrt(loss_fn(), alphas)
    direction = [g + rho * (gp - gm) / (2 * eps) for g, gp, gm in zip(g_tilde, g_plus, g_minus)]
    return direction, loss0.detach()


def a2m_direction(loss_fn: Callable[[], torch.Tensor], alphas: Sequence[torch.Tensor], rho: float,
                  eps: float = 1e-2, center: str = 'alpha_tilde') -> List[torch.Tensor]:
    """A2M update direction for ``alphas`` (leaf tensors with requires_grad).

    ``loss_fn()`` must return the scalar validation loss (plus any regulariser)
    computed from the current values of ``alphas``; ``alphas`` are left unchanged.
    """
    return a2m_direction_and_loss(loss_fn, alphas, rho, eps, center)[0]


@ARCHITECT_REGISTRY.register()
class A2M(Direction):
    name = 'a2m'
    options = {'rho': 1e-2, 'eps': 1e-2, 'center': 'alpha_tilde'}

    def __init__(self, architect, rho, eps, center):
        check_a2m_options(rho, eps, center, where='architect')
        super().__init__(architect, rho=rho, eps=eps, center=center)

    def compute(self, architect, val_loss, val_batch, train_batch, epoch):
        with weights_frozen(architect.weights):
            return a2m_direction_and_loss(val_loss, architect.alphas, self.rho, self.eps, self.center)
