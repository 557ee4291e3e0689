"""Tiny supernets shared by the NAS-core tests."""
import torch
import torch.nn as nn

from srnas.nas import MixedOp, SupernetMixin, arch_softmax


class ToyEdgeSupernet(SupernetMixin, nn.Module):
    """A single edge: just an alpha vector, no weights."""

    def __init__(self, num_ops=5):
        super().__init__()
        self.register_arch_parameter('alpha', 1e-3 * torch.randn(num_ops), op_names=[f'op{i}' for i in range(num_ops)])


class SmoothSupernet(SupernetMixin, nn.Module):
    """Two mixed ops of smooth (tanh) candidates on vectors, plus edge weights; float64-friendly."""

    def __init__(self, dim=4, num_ops=3, dtype=torch.float64, seed=0):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.mixed = nn.ModuleList([
            MixedOp([nn.Sequential(nn.Linear(dim, dim), nn.Tanh()) for _ in range(num_ops)],
                    names=[f'op{i}' for i in range(num_ops)]) for _ in range(2)])
        self.head = nn.Linear(dim, 1)
        self.to(dtype)
        for p in self.parameters():
            with torch.no_grad():
                p.copy_(torch.randn(p.shape, generator=gen, dtype=dtype) * 0.7)
        self.register_arch_parameter('alpha', torch.randn(2, num_ops, generator=gen, dtype=dtype),
                                     op_names=[f'op{i}' for i in range(num_ops)],
                                     costs=torch.arange(1, num_ops + 1, dtype=dtype).repeat(2, 1))
        self.register_arch_parameter('edge', torch.randn(2, generator=gen, dtype=dtype), group='edge')

    def forward(self, x):
        weights = arch_softmax(self.alpha)
        first = self.mixed[0](x, weights[0])
        second = self.mixed[1](first, weights[1])
        edge = torch.softmax(self.edge, 0)
        return self.head(edge[0] * first + edge[1] * second).squeeze(-1)


def mse_loss_fn(model, batch):
    inputs, targets = batch
    return ((model(inputs) - targets) ** 2).mean()


def make_batch(n=8, dim=4, dtype=torch.float64, seed=1):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, dim, generator=gen, dtype=dtype), torch.randn(n, generator=gen, dtype=dtype)
