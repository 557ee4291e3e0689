"""Small autograd helpers shared by the architects."""
import contextlib
from typing import List, Sequence

import torch

from srnas.nas import distributed


def grad_wrt(loss: torch.Tensor, tensors: Sequence[torch.Tensor], reduce: bool = True) -> List[torch.Tensor]:
    """d loss / d tensors, with zeros for tensors the loss does not depend on.

    Only the requested tensors get gradients, so asking for alpha alone runs
    no weight-gradient kernels. Under torchrun (``reduce``) the gradients are
    averaged over the ranks: ``autograd.grad`` bypasses DDP's hooks, and each
    rank holds only its share of the batch. ``reduce=False`` is for losses
    that depend on alpha alone (regularisers), identical on every rank.
    """
    grads = torch.autograd.grad(loss, list(tensors), allow_unused=True)
    grads = [torch.zeros_like(t) if g is None else g for t, g in zip(tensors, grads)]
    return distributed.all_reduce_mean(grads) if reduce else grads


def global_norm(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    return torch.sqrt(sum((t.detach() ** 2).sum() for t in tensors))


@torch.no_grad()
def assign(params: Sequence[torch.Tensor], values: Sequence[torch.Tensor]) -> None:
    for param, value in zip(params, values):
        param.copy_(value)


@contextlib.contextmanager
def values_restored(params: Sequence[torch.Tensor]):
    """Run a block that overwrites ``params`` in place, then put back their exact values."""
    saved = [p.detach().clone() for p in params]
    try:
        yield saved
    finally:
        assign(params, saved)


@contextlib.contextmanager
def buffers_restored(model: torch.nn.Module):
    """Architect evaluations must not move BatchNorm running statistics (or any other buffer)."""
    buffers = [b for b in model.buffers() if b is not None]
    with values_restored(buffers):
        yield


@contextlib.contextmanager
def weights_frozen(model):
    """Alpha-only evaluations: with ``requires_grad`` off on the weights, autograd neither records nor
    saves what only weight gradients would need (measured ~7 % off an A2M step on the DARTS supernet)."""
    trainable = [p for p in model.weights() if p.requires_grad]
    for param in trainable:
        param.requires_grad_(False)
    try:
        yield
    finally:
        for param in trainable:
            param.requires_grad_(True)
