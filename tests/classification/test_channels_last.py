"""space.channels_last: NHWC supernets give the NCHW numbers (to float rounding) and really run in NHWC."""
import pytest
import torch
import torch.nn.functional as F

from classification.darts.search_net import DartsSearchNetwork
from classification.nb201.search_net import NB201SearchNetwork
from classification.spaces import SPACE_REGISTRY
from srnas.nas import NASConfigError
from tests.channels_last_check import assert_nhwc_matches_nchw

BUILDERS = {
    'darts': lambda cl: DartsSearchNetwork(channels=4, layers=3, num_classes=3, channels_last=cl),
    'pc_darts': lambda cl: DartsSearchNetwork(channels=4, layers=3, num_classes=3, partial_k=2,
                                              edge_normalization=True, channels_last=cl),
    'nb201': lambda cl: NB201SearchNetwork(channels=4, cells_per_stage=1, num_classes=3, channels_last=cl),
}


def _last_conv(net):
    return [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)][-1]


@pytest.mark.parametrize('name', sorted(BUILDERS))
def test_channels_last_matches_the_default_layout(name):
    # watched: the last conv (inside the final cell); measured gradient differences about 1e-4 of their scale
    assert_nhwc_matches_nchw(BUILDERS[name], _last_conv, F.cross_entropy,
                             lambda: (torch.randn(3, 3, 8, 8), torch.tensor([0, 1, 2])), grad_atol=1e-6)


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


def test_channels_last_is_refused_where_the_padded_avg_pool_backward_is_wrong(monkeypatch):
    # the probe itself is tested in tests/test_cuda_avg_pool_bug.py; here: the search asks it, and says why
    import classification.search as search
    from classification.options import OptionError
    search.check_layout_on_device({'channels_last': True}, torch.device('cpu'))  # ATen's CPU kernel is right
    asked = []
    monkeypatch.setattr(search, 'padded_avg_pool_backward_is_right', lambda device: asked.append(device) or False)
    search.check_layout_on_device({'channels_last': False}, torch.device('cuda'))
    assert asked == []  # NCHW does not need the probe
    with pytest.raises(OptionError, match=r'space.channels_last: PyTorch .* on cuda:0 \(pytorch/pytorch#188344'):
        search.check_layout_on_device({'channels_last': True}, torch.device('cuda', 0))
    assert asked == [torch.device('cuda', 0)]
