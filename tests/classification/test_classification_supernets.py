"""Search supernets: published weight counts, and genotype derivation recovering known cells."""
import pytest
import torch

from classification.darts import genotypes as G
from classification.darts.search_net import DartsSearchNetwork, node_edge_slices
from classification.nb201 import arch as A
from classification.nb201.search_net import NB201SearchNetwork
from classification.ops import DARTS_PRIMITIVES, DARTS_PRIMITIVES_NO_NONE, NB201_PRIMITIVES


def n_weights(model):
    return sum(p.numel() for p in model.weights())


def test_supernet_weight_counts_match_reference_code():
    # notes/nas_architects.md §3b and notes/nb201.md §2.3 (counted on the reference implementations)
    assert n_weights(DartsSearchNetwork()) == 1_930_618
    assert n_weights(DartsSearchNetwork(primitives=DARTS_PRIMITIVES_NO_NONE)) == 1_930_618
    pc = DartsSearchNetwork(partial_k=4, edge_normalization=True)
    assert n_weights(pc) == 299_578
    assert [tuple(p.shape) for p in pc.arch_parameters()] == [(14, 8), (14,), (14, 8), (14,)]
    nb = NB201SearchNetwork()
    assert n_weights(nb) == 1_692_826
    assert [tuple(p.shape) for p in nb.arch_parameters()] == [(6, 5)]


def _encode_darts(genotype, primitives, edge_normalization=False):
    """Alphas that make ``genotype`` the DARTS parse; other entries stay at zero."""
    net = DartsSearchNetwork(channels=4, layers=3, primitives=primitives, edge_normalization=edge_normalization)
    with torch.no_grad():
        for cell in ('normal', 'reduce'):
            alpha = getattr(net, f'alphas_{cell}')
            alpha.zero_()
            for node, (start, _) in enumerate(node_edge_slices()):
                for rank, (name, source) in enumerate(getattr(genotype, cell)[2 * node: 2 * node + 2]):
                    alpha[start + source, primitives.index(name)] = 5.0 - rank  # listed strongest first
            if 'none' in primitives:  # a dominant `none` must not win: the parse ignores it
                alpha[:, primitives.index('none')] = 20.0
    return net


@pytest.mark.parametrize('genotype', [G.DARTS_V1, G.DARTS_V2, G.PC_DARTS_CIFAR])
@pytest.mark.parametrize('primitives', [DARTS_PRIMITIVES, DARTS_PRIMITIVES_NO_NONE])
def test_darts_parse_recovers_published_cells(genotype, primitives):
    assert _encode_darts(genotype, primitives).genotype() == genotype


def test_edge_normalisation_changes_which_edges_are_kept():
    net = _encode_darts(G.DARTS_V2, DARTS_PRIMITIVES, edge_normalization=True)
    with torch.no_grad():
        net.betas_normal.zero_()
        net.betas_reduce.zero_()
    assert net.genotype() == G.DARTS_V2  # uniform betas change nothing
    with torch.no_grad():
        # node 1 of the normal cell has edges 2, 3, 4 (inputs 0, 1, 2); DARTS_V2 keeps inputs 0 and 1.
        # A large beta on edge 4 must make input 2 the strongest edge of that node.
        net.alphas_normal[4, DARTS_PRIMITIVES.index('max_pool_3x3')] = 1.0
        net.betas_normal[4] = 10.0
    normal = net.genotype().normal
    assert normal[2] == ('max_pool_3x3', 2)  # the boosted edge is now the strongest of node 1
    assert normal[:2] == G.DARTS_V2.normal[:2] and normal[4:] == G.DARTS_V2.normal[4:]


@pytest.mark.parametrize('arch', ['|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|',
                                  '|none~0|+|avg_pool_3x3~0|none~1|+|skip_connect~0|nor_conv_1x1~1|none~2|'])
def test_nb201_argmax_keeps_none_as_a_choice(arch):
    net = NB201SearchNetwork(channels=4, cells_per_stage=1)
    with torch.no_grad():
        net.alphas.zero_()
        for edge, name in enumerate(A.parse(arch)):
            net.alphas[edge, NB201_PRIMITIVES.index(name)] = 1.0
    assert net.genotype() == arch


@pytest.mark.parametrize('partial_k', [1, 2])
def test_supernet_gradients_reach_alphas(partial_k):
    torch.manual_seed(0)
    for net in (DartsSearchNetwork(channels=4, layers=3, partial_k=partial_k, edge_normalization=partial_k > 1),
                NB201SearchNetwork(channels=4, cells_per_stage=1, partial_k=partial_k)):
        loss = torch.nn.functional.cross_entropy(net(torch.randn(2, 3, 8, 8)), torch.tensor([1, 2]))
        grads = torch.autograd.grad(loss, net.arch_parameters())
        assert all(torch.isfinite(g).all() and g.abs().sum() > 0 for g in grads)
