"""NAS-Bench-201 strings, index order and TinyNetwork sizes against the published anchors (notes/nb201.md)."""
import hashlib

import pytest
import torch

from classification.nb201 import arch as A
from classification.nb201.tiny_network import TinyNetwork, closed_form_params

BEST_C10 = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|'

# index -> string, from the official code's assertions and documented anchors (notes/nb201.md §1.3)
ANCHORS = {
    0: '|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|',
    1: '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|',
    9: '|avg_pool_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|',
    123: '|avg_pool_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|',
    857: '|nor_conv_1x1~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|',
    9930: BEST_C10,
    11472: '|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|',
    15624: '|nor_conv_1x1~0|+|none~0|nor_conv_1x1~1|+|none~0|nor_conv_1x1~1|nor_conv_1x1~2|',
}


def uniform(op):
    return A.to_str([op] * 6)


def test_index_order_matches_official_checksum_and_anchors():
    archs = A.meta_archs()
    assert len(archs) == 15625 == len(set(archs))
    digest = hashlib.sha256('\n'.join(archs).encode()).hexdigest()
    assert digest == '83abc799e45cf34e9d2163654668ab998b9a54d01c39e72ca1f71f2cdf356d84'
    for index, arch in ANCHORS.items():
        assert archs[index] == arch
        assert A.arch_index(arch) == index
    assert A.arch_index(uniform('nor_conv_3x3')) == 1462
    assert A.arch_index(uniform('none')) == 1651
    assert A.arch_index(uniform('skip_connect')) == 1835
    assert A.arch_index(uniform('nor_conv_1x1')) == 4317
    assert A.arch_index(uniform('avg_pool_3x3')) == 7581


def test_strings_round_trip_and_edge_order():
    for arch in list(ANCHORS.values()) + list(A.meta_archs()[::997]):
        assert A.to_str(A.parse(arch)) == arch
    ops = A.parse(ANCHORS[1])
    assert ops == ('nor_conv_3x3', 'nor_conv_3x3', 'avg_pool_3x3', 'skip_connect', 'nor_conv_3x3', 'skip_connect')
    # inputs written out of order inside a node still name the same cell
    shuffled = '|nor_conv_3x3~0|+|avg_pool_3x3~1|nor_conv_3x3~0|+|skip_connect~2|skip_connect~0|nor_conv_3x3~1|'
    assert A.canonical(shuffled) == ANCHORS[1] and A.arch_index(shuffled) == 1
    assert A.enumeration_index(uniform('avg_pool_3x3')) == 15624 and A.enumeration_index(uniform('none')) == 0


@pytest.mark.parametrize('bad', ['', '|nor_conv_3x3~0|', '|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|',
                                 '|none~0|+|none~0|none~0|+|none~0|none~1|none~2|',
                                 '|none~1|+|none~0|none~1|+|none~0|none~1|none~2|'])
def test_malformed_strings_are_clear_errors(bad):
    with pytest.raises(A.ArchStringError):
        A.parse(bad)


def n_params(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize('arch', [BEST_C10, ANCHORS[0], ANCHORS[9], ANCHORS[11472], ANCHORS[15624],
                                  uniform('nor_conv_3x3'), uniform('skip_connect'), uniform('nor_conv_1x1')])
@pytest.mark.parametrize('classes', [10, 100, 120])
def test_tiny_network_params_follow_closed_form(arch, classes):
    ops = A.parse(arch)
    expected = 72656 + 65 * classes + 243040 * ops.count('nor_conv_3x3') + 28000 * ops.count('nor_conv_1x1')
    assert n_params(TinyNetwork(arch, num_classes=classes)) == expected == closed_form_params(arch, classes)


def test_best_cifar10_cell_has_published_size_and_key_layout():
    net = TinyNetwork(BEST_C10, channels=16, cells_per_stage=5, num_classes=10)
    assert n_params(net) == 1_288_506
    keys = net.state_dict().keys()
    assert len(keys) == 489
    assert 'cells.0.layers.0.op.1.weight' in keys and 'cells.5.downsample.1.weight' in keys
    assert 'cells.0.layers.3.op.1.weight' not in keys  # edge 3<-0 is skip_connect: no parameters
    features, logits = net(torch.randn(2, 3, 32, 32))
    assert features.shape == (2, 64) and logits.shape == (2, 10)
