"""Arch parameters: registered, saved, separated from weights, grouped, with costs."""
import pytest
import torch
import torch.nn as nn

from srnas.nas import MixedOp, NASConfigError, SupernetMixin, arch_softmax


class TinySupernet(SupernetMixin, nn.Module):
    def __init__(self):
        super().__init__()
        self.ops = nn.ModuleList([MixedOp([nn.Conv2d(2, 2, 1), nn.Identity()], names=['conv', 'skip'])
                                  for _ in range(2)])
        self.register_arch_parameter('alpha', 1e-3 * torch.randn(2, 2), op_names=['conv', 'skip'],
                                     costs=[[4.0, 0.0], [4.0, 0.0]])
        self.register_arch_parameter('beta', torch.zeros(3), group='edge')

    def forward(self, x):
        weights = arch_softmax(self.alpha)
        for op, w in zip(self.ops, weights):
            x = op(x, w)
        return x


class Wrapper(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = TinySupernet()
        self.head = nn.Linear(2, 1)


def test_arch_parameters_are_separate_from_weights():
    net = TinySupernet()
    names = [n for n, _ in net.named_arch_parameters()]
    assert names == ['alpha', 'beta']
    arch_ids = {id(p) for p in net.arch_parameters()}
    weight_ids = {id(p) for p in net.weights()}
    assert not arch_ids & weight_ids
    assert arch_ids | weight_ids == {id(p) for p in net.parameters()}
    assert 'alpha' in net.state_dict() and 'beta' in net.state_dict()
    assert not any(k.startswith('_arch_costs') for k in net.state_dict())


def test_weight_optimizer_never_moves_alpha():
    net = TinySupernet()
    before = net.alpha.detach().clone()
    opt = torch.optim.SGD(net.weights(), lr=0.5)
    net(torch.randn(1, 2, 3, 3)).sum().backward()
    opt.step()
    torch.testing.assert_close(net.alpha.detach(), before)
    assert net.alpha.grad is not None  # gradient exists, but the optimizer does not own alpha


def test_groups_costs_and_nested_collection():
    wrapper = Wrapper()
    groups = wrapper.net.arch_groups()
    assert [p.shape for p in groups['op']] == [(2, 2)] and [p.shape for p in groups['edge']] == [(3,)]
    (alpha, costs), = wrapper.net.arch_costs()
    assert alpha is wrapper.net.alpha and costs.tolist() == [[4.0, 0.0], [4.0, 0.0]]
    assert wrapper.net.arch_op_names() == {'alpha': ['conv', 'skip'], 'beta': None}


def test_registration_errors():
    net = TinySupernet()
    with pytest.raises(NASConfigError, match="costs for arch parameter 'alpha' have shape"):
        net.set_arch_costs('alpha', torch.ones(3))
    with pytest.raises(NASConfigError, match='group must be one of'):
        net.register_arch_parameter('gamma', torch.zeros(2), group='cell')
    with pytest.raises(NASConfigError, match="'nope' is not a registered"):
        net.set_arch_costs('nope', torch.ones(2))
