"""network_g.channels_last of the SR supernets: NHWC gives the NCHW loss and gradients (to float rounding)."""
import pytest
import torch
import torch.nn.functional as F

from srnas.nas import NASConfigError
from srnas.spaces.dlsr_supernet import DLSRSupernet
from srnas.spaces.imdn_supernet import IMDNSupernet
from tests.channels_last_check import assert_nhwc_matches_nchw

BUILDERS = {
    'dlsr': lambda cl: DLSRSupernet(upscale=2, num_feat=8, channels_last=cl),
    'sac_dlsr': lambda cl: DLSRSupernet(upscale=2, num_feat=8, partial_k=2, channels_last=cl),
    'imdn': lambda cl: IMDNSupernet(upscale=2, num_feat=16, num_blocks=1, channels_last=cl),
    'sac_imdn': lambda cl: IMDNSupernet(upscale=2, num_feat=16, num_blocks=1, partial_k=2, channels_last=cl),
}


@pytest.mark.parametrize('name', sorted(BUILDERS))
def test_channels_last_matches_the_default_layout(name):
    # the first conv (stem / head): the activations are NHWC from the start
    assert_nhwc_matches_nchw(BUILDERS[name], lambda net: net.stem if name.endswith('dlsr') else net.head,
                             F.l1_loss, lambda: (torch.rand(2, 3, 16, 16), torch.rand(2, 3, 32, 32)), grad_atol=1e-7)


@pytest.mark.parametrize('arch', ['SRNASDLSRSupernet', 'SRNASIMDNSupernet'])
def test_channels_last_is_a_network_g_option(arch):
    from srnas.basicsr_compat import register_plugins
    register_plugins()  # also aliases the torchvision module basicsr 1.4.2 imports
    from basicsr.archs import build_network
    small = {'num_feat': 8} if 'DLSR' in arch else {'num_feat': 16, 'num_blocks': 1}
    assert build_network({'type': arch, 'upscale': 2, **small}).memory_format == torch.contiguous_format
    net = build_network({'type': arch, 'upscale': 2, 'channels_last': True, **small})
    assert net.memory_format == torch.channels_last
    with pytest.raises(NASConfigError, match='network_g.channels_last'):
        build_network({'type': arch, 'upscale': 2, 'channels_last': 'yes', **small})
