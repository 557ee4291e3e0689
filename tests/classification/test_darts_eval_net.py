"""DARTS evaluation networks against the published parameter counts (notes/nas_architects.md §3a)."""
import re

import pytest
import torch

from classification.darts import genotypes as G
from classification.darts.eval_net import NetworkCIFAR, NetworkImageNet, count_parameters


@pytest.mark.parametrize('genotype,without_aux,with_aux', [
    (G.DARTS_V2, 3_349_342, 3_825_768),
    (G.DARTS_V1, 3_169_414, 3_645_840),
    (G.PC_DARTS_CIFAR, 3_634_678, 4_111_104),
])
def test_cifar_eval_net_params_match_published(genotype, without_aux, with_aux):
    net = NetworkCIFAR(genotype, channels=36, num_classes=10, layers=20, auxiliary=True)
    assert count_parameters(net) == without_aux
    assert count_parameters(net, exclude_prefixes=()) == with_aux


def test_imagenet_mobile_net_params_match_published():
    net = NetworkImageNet(G.DARTS_V2, channels=48, num_classes=1000, layers=14, auxiliary=True)
    assert count_parameters(net) == 4_718_752
    assert count_parameters(net, exclude_prefixes=()) == 5_979_528


def test_aux_head_only_in_training_and_shapes():
    net = NetworkCIFAR(G.DARTS_V2, channels=8, num_classes=7, layers=5, auxiliary=True, drop_path_prob=0.3)
    logits, aux = net(torch.randn(2, 3, 32, 32))
    assert logits.shape == (2, 7) and aux.shape == (2, 7)
    net.eval()
    logits, aux = net(torch.randn(2, 3, 32, 32))
    assert aux is None and logits.shape == (2, 7)


def test_drop_path_zeroes_whole_samples_and_keeps_expectation():
    from classification.darts.eval_net import drop_path
    torch.manual_seed(0)
    x = torch.ones(4000, 2, 3, 3)
    y = drop_path(x, 0.25)
    per_sample = y.flatten(1)
    # each sample is either all zero or all 1/keep
    values = torch.unique(per_sample)
    assert all(v == 0 or abs(v - 1 / 0.75) < 1e-6 for v in values.tolist())
    assert torch.all(per_sample.min(1).values == per_sample.max(1).values)
    assert abs(y.mean().item() - 1.0) < 0.05


def test_genotype_json_round_trip_and_repr_parse(tmp_path):
    path = G.save(G.PC_DARTS_CIFAR, tmp_path / 'g.json', source='test')
    assert G.load(path) == G.PC_DARTS_CIFAR
    assert G.parse(repr(G.DARTS_V1)) == G.DARTS_V1
    assert G.parse('DARTS_V2') == G.DARTS_V2


@pytest.mark.parametrize('bad,message', [
    ({'normal': [['sep_conv_3x3', 0]] * 7, 'normal_concat': [2], 'reduce': [], 'reduce_concat': [2]}, '8 (op, input)'),
    ({**G.to_dict(G.DARTS_V2), 'normal': [['conv_9x9', 0]] + G.to_dict(G.DARTS_V2)['normal'][1:]}, "unknown op 'conv_9x9'"),
    ({**G.to_dict(G.DARTS_V2), 'reduce': G.to_dict(G.DARTS_V2)['reduce'][:6] + [['skip_connect', 5], ['skip_connect', 0]]},
     'input 5'),
])
def test_bad_genotypes_are_clear_errors(tmp_path, bad, message):
    import json
    path = tmp_path / 'bad.json'
    path.write_text(json.dumps(bad))
    with pytest.raises(G.GenotypeError, match=re.escape(message)) as info:
        G.load(path)
    assert str(path) in str(info.value)
