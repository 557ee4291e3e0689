"""Supernets of the two SR spaces: sizes, shared alpha, partial channels, derivation."""
import pytest
import torch

from srnas.nas import NASConfigError
from srnas.ops.sr_ops import DLSR_CANDIDATES, IMDN_CANDIDATES
from srnas.spaces.costs import dlsr_cost_table, imdn_cost_table
from srnas.spaces.dlsr import DLSRChild
from srnas.spaces.dlsr_supernet import DLSRSupernet
from srnas.spaces.imdn import IMDNChild
from srnas.spaces.imdn_supernet import IMDNSupernet


def test_dlsr_supernet_has_the_reference_weight_count_and_arch_shapes():
    net = DLSRSupernet(upscale=2)
    assert sum(p.numel() for p in net.weights()) == 4_212_924
    assert [tuple(p.shape) for p in net.arch_parameters()] == [(3, 9), (2,), (3,), (4,), (5,)]
    groups = net.arch_groups()
    assert len(groups['op']) == 1 and len(groups['edge']) == 4


def test_imdn_supernet_weights_are_the_fixed_part_plus_all_candidates():
    net = IMDNSupernet(upscale=2)
    # notes/sr_spaces.md: fixed part 98,724 at x2; candidates with affine-free BN while searching.
    from srnas.spaces.imdn_network import imdb_channel_plan
    from srnas.ops.sr_ops import build_imdn_op
    plan = imdb_channel_plan(64)
    per_block = sum(sum(p.numel() for p in build_imdn_op(n, *plan[c], bn_affine=False).parameters())
                    for c in ('c1', 'c2', 'c3', 'c4') for n in IMDN_CANDIDATES)
    assert sum(p.numel() for p in net.weights()) == 98_724 + 6 * per_block
    assert tuple(net.alpha.shape) == (4, 12)


def test_one_hot_alpha_supernet_equals_the_derived_child():
    torch.manual_seed(0)
    net = DLSRSupernet(upscale=2).eval()
    with torch.no_grad():
        net.alpha.fill_(-1e4)
        chosen = [4, 5, 5]  # sep3, sep5, sep5
        for row, col in enumerate(chosen):
            net.alpha[row, col] = 1e4
        for b in net.betas():  # inputs 1 and 2 win, each with softmax weight 1/2
            b.fill_(-1e4)
            b[:2] = 1e4
    genotype = net.genotype()
    assert genotype['ops'] == ['sep_conv_3x3', 'sep_conv_5x5', 'sep_conv_5x5']
    child = DLSRChild(genotype, upscale=2).eval()
    # Copy supernet weights into the child: same skeleton, chosen candidates, fused inputs 1,2.
    state = {}
    for key, value in child.state_dict().items():
        if '.ops.' in key:
            cell, rest = key.split('.ops.')
            pos, tail = rest.split('.', 1)
            key_s = f'{cell}.ops.{pos}.candidates.{chosen[int(pos)]}.{tail}'
            state[key] = net.state_dict()[key_s]
        elif key.startswith('input_fusions.') and key.endswith('weight'):
            i = int(key.split('.')[1])
            full = net.state_dict()[key]
            order = genotype['connections'][i]  # 1-based cells, concat order
            # the supernet scales each input by its softmax(beta) weight (1/2) before the 1x1 fusion
            state[key] = 0.5 * torch.cat([full[:, (k - 1) * 48:k * 48] for k in order], dim=1)
        else:
            state[key] = net.state_dict()[key]
    child.load_state_dict(state)
    x = torch.rand(1, 3, 18, 20)
    with torch.no_grad():
        assert torch.allclose(net(x), child(x), atol=1e-5)


def test_imdn_one_hot_supernet_equals_child():
    torch.manual_seed(0)
    net = IMDNSupernet(upscale=2).eval()
    chosen = [IMDN_CANDIDATES.index(n) for n in ('conv_3x3', 'sep_conv_3x3', 'dil_sep_conv_5x5', 'conv_5x5')]
    with torch.no_grad():
        net.alpha.fill_(-1e4)
        for row, col in enumerate(chosen):
            net.alpha[row, col] = 1e4
    child = IMDNChild(net.genotype(), upscale=2).eval()
    state = {}
    for key in child.state_dict():
        parts = key.split('.')
        if parts[0] == 'blocks' and parts[2] in ('c1', 'c2', 'c3', 'c4'):
            row = ('c1', 'c2', 'c3', 'c4').index(parts[2])
            key_s = '.'.join(parts[:3] + ['mixed', 'candidates', str(chosen[row])] + parts[3:])
            state[key] = net.state_dict()[key_s]
        else:
            state[key] = net.state_dict()[key]
    child.load_state_dict(state)
    x = torch.rand(1, 3, 12, 14)
    with torch.no_grad():
        assert torch.allclose(net(x), child(x), atol=1e-5)


@pytest.mark.parametrize('space', ['dlsr', 'imdn'])
def test_partial_channel_supernets_run_and_backprop_to_alpha(space):
    torch.manual_seed(0)
    net = DLSRSupernet(upscale=2, partial_k=4) if space == 'dlsr' else IMDNSupernet(upscale=2, partial_k=4)
    full = DLSRSupernet(upscale=2) if space == 'dlsr' else IMDNSupernet(upscale=2)
    assert sum(p.numel() for p in net.weights()) < sum(p.numel() for p in full.weights()) / 3
    out = net(torch.rand(2, 3, 16, 18))
    assert out.shape == (2, 3, 32, 36)
    out.abs().mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.arch_parameters())


def test_partial_k_not_dividing_channels_is_a_clear_error():
    with pytest.raises(NASConfigError, match='K=5 does not divide'):
        DLSRSupernet(upscale=2, partial_k=5)


def test_supernets_declare_the_cost_tables_for_the_flops_loss():
    (alpha, costs), = DLSRSupernet(upscale=2).arch_costs()
    assert torch.allclose(costs.double(), dlsr_cost_table(2), rtol=1e-6)
    (alpha, costs), = IMDNSupernet(upscale=4).arch_costs()
    assert torch.allclose(costs.double(), imdn_cost_table(4), rtol=1e-6)
    assert costs.shape == alpha.shape == (4, 12)
    assert len(DLSR_CANDIDATES) == 9


def test_registered_in_basicsr():
    from srnas.basicsr_compat import register_plugins
    register_plugins()
    from basicsr.utils.registry import ARCH_REGISTRY
    for name in ('SRNASDLSRChild', 'SRNASDLSRSupernet', 'SRNASIMDNChild', 'SRNASIMDNSupernet'):
        assert ARCH_REGISTRY.get(name) is not None


def test_dlsr_betas_are_labelled_by_the_cells_they_weight():
    from srnas.spaces.dlsr_supernet import DLSRSupernet
    names = DLSRSupernet(upscale=2, num_feat=8, partial_k=2).arch_op_names()
    assert names['beta_3'] == ['B1', 'B2'] and names['beta_6'] == ['B1', 'B2', 'B3', 'B4', 'B5']


def test_imdn_supernet_can_search_c4_at_full_width():
    # c4 maps 48 -> 16 at width 64: with K = 4 its candidates see 12 -> 4 channels and a resampled bypass
    # (srnas's construction); full_channel_positions gives it the child's full 48 -> 16 candidates.
    from srnas.spaces.imdn_supernet import IMDNSupernet
    sac = IMDNSupernet(upscale=2, num_blocks=1, partial_k=4)
    full_c4 = IMDNSupernet(upscale=2, num_blocks=1, partial_k=4, full_channel_positions=['c4'])
    conv = lambda net, pos: getattr(net.blocks[0], pos).mixed.candidates[0]  # noqa: E731 (conv_3x3)
    assert (conv(sac, 'c4').in_channels, conv(sac, 'c4').out_channels) == (12, 4)
    assert (conv(full_c4, 'c4').in_channels, conv(full_c4, 'c4').out_channels) == (48, 16)
    assert getattr(full_c4.blocks[0], 'c4').mixed.partial_k == 1
    assert (conv(full_c4, 'c1').in_channels, conv(full_c4, 'c1').out_channels) == (16, 16)
    out = full_c4(torch.rand(1, 3, 16, 16))
    assert out.shape == (1, 3, 32, 32)
    with pytest.raises(ValueError, match='unknown position'):
        IMDNSupernet(upscale=2, num_blocks=1, partial_k=4, full_channel_positions=['c5'])
