"""The supernets' ``lean_autograd`` option (``space.lean_autograd``, ``network_g.lean_autograd``).

Truth: the option's ``false`` must give the plain autograd graph, i.e. the same numbers bit for bit (on the
CPU, NCHW) while keeping more bytes for backward, counted tensor by tensor with ``saved_tensors_hooks``.
"""
import pytest
import torch
import torch.nn.functional as F

from classification.spaces import SPACE_REGISTRY
from srnas.nas import MixedOp, NASConfigError
from tests.nas.nas_core_toys import saved_bytes


def _classification(space, **options):
    record = SPACE_REGISTRY.get(space)
    small = {'layers': 3} if space == 'darts' else {'cells_per_stage': 1}
    return record.build_search(dict(record.search_defaults, channels=4, **small, **options), 3)


def _sr(arch, **options):
    from srnas.basicsr_compat import register_plugins
    register_plugins()  # also aliases the torchvision module basicsr 1.4.2 imports
    from basicsr.archs import build_network
    small = {'num_feat': 8} if 'DLSR' in arch else {'num_feat': 16, 'num_blocks': 1}
    return build_network({'type': arch, 'upscale': 2, **small, **options})


CASES = {
    'darts': (lambda **o: _classification('darts', **o), 'space.lean_autograd',
              lambda: (torch.randn(3, 3, 8, 8), torch.tensor([0, 1, 2])), F.cross_entropy),
    'pc_darts': (lambda **o: _classification('darts', partial_k=2, edge_normalization=True, **o),
                 'space.lean_autograd', lambda: (torch.randn(3, 3, 8, 8), torch.tensor([0, 1, 2])), F.cross_entropy),
    'nb201': (lambda **o: _classification('nb201', **o), 'space.lean_autograd',
              lambda: (torch.randn(3, 3, 8, 8), torch.tensor([0, 1, 2])), F.cross_entropy),
    'dlsr': (lambda **o: _sr('SRNASDLSRSupernet', **o), 'network_g.lean_autograd',
             lambda: (torch.rand(2, 3, 16, 16), torch.rand(2, 3, 32, 32)), F.l1_loss),
    'imdn': (lambda **o: _sr('SRNASIMDNSupernet', **o), 'network_g.lean_autograd',
             lambda: (torch.rand(2, 3, 16, 16), torch.rand(2, 3, 32, 32)), F.l1_loss),
}


def _step(model, x, y, loss_fn):
    loss = loss_fn(model(x), y)
    return [loss.detach()] + list(torch.autograd.grad(loss, list(model.parameters())))


@pytest.mark.parametrize('name', sorted(CASES))
def test_false_gives_the_plain_graph_with_the_same_numbers(name):
    build, _, data, loss_fn = CASES[name]
    torch.manual_seed(0)
    lean = build()
    torch.manual_seed(0)
    plain = build(lean_autograd=False)
    mixed_ops = [m for m in plain.modules() if isinstance(m, MixedOp)]
    assert mixed_ops and not any(m.lean_autograd for m in mixed_ops)
    assert all(m.lean_autograd for m in lean.modules() if isinstance(m, MixedOp))
    torch.manual_seed(1)
    x, y = data()
    assert saved_bytes(lambda: plain(x)) > saved_bytes(lambda: lean(x))  # the option switched the graph
    for got, want in zip(_step(plain, x, y, loss_fn), _step(lean, x, y, loss_fn)):
        assert torch.equal(got, want)


@pytest.mark.parametrize('name', sorted(CASES))
def test_a_non_boolean_value_is_one_clear_error_naming_the_option(name):
    build, option, _, _ = CASES[name]
    with pytest.raises(NASConfigError, match=f'{option} must be true or false'):
        build(lean_autograd='no')
