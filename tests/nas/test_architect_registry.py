"""Adding an architect direction is one registered class: a toy one, defined here, drives an Architect step."""
import copy

import pytest
import torch
from tests.nas.nas_core_toys import SmoothSupernet, make_batch, mse_loss_fn

from srnas.nas import NASConfigError
from srnas.nas.architects import ARCHITECT_REGISTRY, Architect, Direction
from srnas.nas.architects.gradients import grad_wrt


@ARCHITECT_REGISTRY.register()
class ToySignDescent(Direction):
    """signSGD on alpha: the direction is ``scale * sign(grad_alpha L_val)``."""
    name = 'toy_sign_descent'
    options = {'scale': 1.0}

    def __init__(self, architect, scale):
        if not scale > 0:
            raise NASConfigError(f'architect.scale must be > 0, got {scale!r}')
        super().__init__(architect, scale=scale)

    def compute(self, architect, val_loss, val_batch, train_batch, epoch):
        loss = val_loss()
        return [self.scale * torch.sign(g) for g in grad_wrt(loss, architect.alphas)], loss.detach()


def test_registered_toy_direction_moves_alpha_by_its_rule():
    model, batch = SmoothSupernet(), make_batch()
    # independent truth: autograd on a copy of the model, then alpha - lr * scale * sign(grad) by hand
    twin = copy.deepcopy(model)
    grads = torch.autograd.grad(mse_loss_fn(twin, batch), list(twin.arch_parameters()))
    want = [a.detach() - 0.1 * 0.25 * torch.sign(g) for a, g in zip(twin.arch_parameters(), grads)]
    assert all(torch.count_nonzero(g) == g.numel() for g in grads)  # every sign is +-1, so every entry moves
    architect = Architect(model, mse_loss_fn, {'type': 'toy_sign_descent', 'scale': 0.25,
                                               'optimizer': {'type': 'sgd', 'lr': 0.1, 'weight_decay': 0}})
    out = architect.step(batch, epoch=0)
    assert out['updated'] and architect.state_dict()['type'] == 'toy_sign_descent'
    for alpha, expected in zip(model.arch_parameters(), want):
        torch.testing.assert_close(alpha.detach(), expected, rtol=0, atol=1e-12)
    n_alpha = sum(a.numel() for a in model.arch_parameters())
    assert architect.last_grad_norms['total'] == pytest.approx(0.25 * n_alpha ** 0.5)


def test_toy_direction_options_are_checked_like_the_built_in_ones():
    with pytest.raises(NASConfigError, match=r"\['rho'\] apply to another architect type"):
        Architect(SmoothSupernet(), mse_loss_fn, {'type': 'toy_sign_descent', 'rho': 0.1})
    with pytest.raises(NASConfigError, match=r"\['scale'\] apply to another architect type"):
        Architect(SmoothSupernet(), mse_loss_fn, {'type': 'a2m', 'scale': 0.1})
    with pytest.raises(NASConfigError, match='architect.scale must be > 0'):
        Architect(SmoothSupernet(), mse_loss_fn, {'type': 'toy_sign_descent', 'scale': 0})
    assert 'toy_sign_descent' in ARCHITECT_REGISTRY and 'first_order' in ARCHITECT_REGISTRY
