"""network_g.channels_last of the SR supernets: NHWC gives the NCHW loss and gradients (to float rounding)."""
import pytest
import torch
import torch.nn.functional as F

from srnas.nas import NASConfigError
from srnas.spaces.dlsr_supernet import DLSRSupernet
from srnas.spaces.imdn_supernet import IMDNSupernet

BUILDERS = {
    'dlsr': lambda cl: DLSRSupernet(upscale=2, num_feat=8, channels_last=cl),
    'sac_dlsr': lambda cl: DLSRSupernet(upscale=2, num_feat=8, partial_k=2, channels_last=cl),
    'imdn': lambda cl: IMDNSupernet(upscale=2, num_feat=16, num_blocks=1, channels_last=cl),
    'sac_imdn': lambda cl: IMDNSupernet(upscale=2, num_feat=16, num_blocks=1, partial_k=2, channels_last=cl),
}


def _loss_and_grads(model, lq, gt):
    loss = F.l1_loss(model(lq), gt)
    return loss.detach(), torch.autograd.grad(loss, list(model.parameters()))


@pytest.mark.parametrize('name', sorted(BUILDERS))
def test_channels_last_matches_the_default_layout(name):
    torch.manual_seed(0)
    plain = BUILDERS[name](False).train()
    nhwc = BUILDERS[name](True).train()
    nhwc.load_state_dict(plain.state_dict())
    spatial = [m for m in nhwc.modules() if isinstance(m, torch.nn.Conv2d) and m.weight.shape[-1] > 1]
    assert all(c.weight.is_contiguous(memory_format=torch.channels_last) for c in spatial)
    seen = []  # the first conv's output (stem / head): the activations really are NHWC
    nhwc_format = torch.channels_last
    first_conv = nhwc.stem if name.endswith('dlsr') else nhwc.head
    first_conv.register_forward_hook(lambda _m, _i, out: seen.append(out.is_contiguous(memory_format=nhwc_format)))
    lq, gt = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 32, 32)
    loss_plain, grads_plain = _loss_and_grads(plain, lq, gt)
    loss_nhwc, grads_nhwc = _loss_and_grads(nhwc, lq, gt)
    assert seen == [True]
    torch.testing.assert_close(loss_nhwc, loss_plain, rtol=1e-5, atol=1e-6)
    # NHWC kernels sum in another order: float32 rounding, far below 1e-3 of each gradient's scale.
    for (pname, _), g_nhwc, g_plain in zip(plain.named_parameters(), grads_nhwc, grads_plain):
        assert (g_nhwc - g_plain).abs().max() <= 1e-3 * g_plain.abs().max() + 1e-7, pname


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
