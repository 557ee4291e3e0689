"""space.channels_last: NHWC supernets give the NCHW numbers (to float rounding) and really run in NHWC."""
import pytest
import torch
import torch.nn.functional as F

from classification.darts.search_net import DartsSearchNetwork
from classification.nb201.search_net import NB201SearchNetwork
from classification.spaces import SPACE_REGISTRY
from srnas.nas import NASConfigError

BUILDERS = {
    'darts': lambda cl: DartsSearchNetwork(channels=4, layers=3, num_classes=3, channels_last=cl),
    'pc_darts': lambda cl: DartsSearchNetwork(channels=4, layers=3, num_classes=3, partial_k=2,
                                              edge_normalization=True, channels_last=cl),
    'nb201': lambda cl: NB201SearchNetwork(channels=4, cells_per_stage=1, num_classes=3, channels_last=cl),
}


def _loss_and_grads(model, x, y):
    loss = F.cross_entropy(model(x), y)
    return loss.detach(), torch.autograd.grad(loss, list(model.parameters()))


@pytest.mark.parametrize('name', sorted(BUILDERS))
def test_channels_last_matches_the_default_layout(name):
    torch.manual_seed(0)
    plain = BUILDERS[name](False).train()
    nhwc = BUILDERS[name](True).train()
    nhwc.load_state_dict(plain.state_dict())
    convs = [m for m in nhwc.modules() if isinstance(m, torch.nn.Conv2d)]
    assert all(c.weight.is_contiguous(memory_format=torch.channels_last) for c in convs if c.weight.shape[-1] > 1)
    seen = []
    nhwc_out = torch.channels_last
    convs[-1].register_forward_hook(lambda _m, _i, out: seen.append(out.is_contiguous(memory_format=nhwc_out)))
    x, y = torch.randn(3, 3, 8, 8), torch.tensor([0, 1, 2])
    loss_plain, grads_plain = _loss_and_grads(plain, x, y)
    loss_nhwc, grads_nhwc = _loss_and_grads(nhwc, x, y)
    assert seen == [True]
    torch.testing.assert_close(loss_nhwc, loss_plain, rtol=1e-5, atol=1e-6)
    # Other kernels sum in another order: float32 rounding, well below 1e-3 of each gradient's scale
    # (measured about 1e-4 on these tiny BN batches).
    for (pname, _), g_nhwc, g_plain in zip(plain.named_parameters(), grads_nhwc, grads_plain):
        assert (g_nhwc - g_plain).abs().max() <= 1e-3 * g_plain.abs().max() + 1e-6, pname  # bias before BN: grad ~0


@pytest.mark.parametrize('space', ['darts', 'nb201'])
def test_channels_last_is_a_space_option(space):
    record = SPACE_REGISTRY.get(space)
    options = dict(record.search_defaults, channels=4, channels_last=True)
    if space == 'darts':
        options['layers'] = 3
    else:
        options['cells_per_stage'] = 1
    model = record.build_search(options, 3)
    assert model.memory_format == torch.channels_last
    with pytest.raises(NASConfigError, match='channels_last'):
        record.build_search(dict(options, channels_last='yes'), 3)
