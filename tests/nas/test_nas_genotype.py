"""Genotype derivation on hand-built alphas, genotype files, and the per-epoch alpha record."""
import json

import pytest
import torch
from tests.nas.nas_core_toys import ToyEdgeSupernet

from srnas.nas import (AlphaRecorder, NASConfigError, darts_cell_edges, derive_argmax, derive_top_k_edges,
                       load_genotype, read_genotype_file, save_genotype,
                       top_k_indices)

DARTS_OPS = ['none', 'max_pool_3x3', 'avg_pool_3x3', 'skip_connect', 'sep_conv_3x3', 'sep_conv_5x5',
             'dil_conv_3x3', 'dil_conv_5x5']
# DARTS_V2 normal cell (quark0/darts genotypes.py), strongest edge of each node first
DARTS_V2_NORMAL = [('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1),
                   ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)]


def _alpha_for(genotype):
    """Alpha whose DARTS parse is ``genotype``: kept edges get their op strongest (decreasing per node),
    every other edge gets a large 'none' weight that the derivation must ignore."""
    alpha = torch.zeros(14, len(DARTS_OPS))
    alpha[:, 0] = 6.0
    for node, edges in enumerate(darts_cell_edges(4)):
        for rank, (op, source) in enumerate(genotype[2 * node:2 * node + 2]):
            edge_index = edges[source][0]
            alpha[edge_index, 0] = 0.0
            alpha[edge_index, DARTS_OPS.index(op)] = 4.0 - rank
    return alpha


def test_top_k_edges_recovers_darts_v2_and_ignores_none():
    assert derive_top_k_edges(_alpha_for(DARTS_V2_NORMAL), DARTS_OPS, darts_cell_edges(4)) == DARTS_V2_NORMAL


def test_edge_weights_change_which_edges_are_kept():
    # node 0 has edges 0 (from state 0) and 1 (from state 1); node 1 has edges 2, 3, 4
    alpha = torch.tensor([[0.0, 2.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    names = ['none', 'conv', 'pool']
    nodes = [[(0, 0), (1, 1)], [(2, 0), (3, 1), (4, 2)]]
    plain = derive_top_k_edges(alpha, names, nodes, k=1)
    probs = torch.softmax(alpha, -1)
    assert plain[0] == ('conv', 0)  # 0.787 * 1 beats 0.576
    # edge weights x: strength = max non-none prob * x
    weighted = derive_top_k_edges(alpha, names, nodes, k=1, edge_weights=torch.tensor([0.3, 0.7, 0.2, 0.3, 0.5]))
    assert float(probs[0, 1]) * 0.3 < float(probs[1, 2]) * 0.7
    assert weighted[0] == ('pool', 1) and weighted[1] == ('pool', 2)


def test_argmax_and_top_k_indices():
    alpha = torch.tensor([[0.1, 0.5, 0.2], [3.0, 1.0, 2.0]])
    assert derive_argmax(alpha, ['a', 'b', 'c']) == ['b', 'a']
    assert derive_argmax(alpha, ['a', 'b', 'c'], exclude=['a']) == ['b', 'c']
    assert top_k_indices(torch.tensor([0.1, 0.4, 0.3, 0.4]), 2) == [1, 3]
    with pytest.raises(NASConfigError, match='every candidate op'):
        derive_argmax(alpha, ['a', 'b', 'c'], exclude=['a', 'b', 'c'])
    with pytest.raises(NASConfigError, match='2 op names'):
        derive_argmax(alpha, ['a', 'b'])
    with pytest.raises(NASConfigError, match='cannot keep top 5'):
        top_k_indices(torch.zeros(3), 5)


@pytest.mark.parametrize('suffix', ['.json', '.yml'])
def test_genotype_files_round_trip(tmp_path, suffix):
    genotype = {'normal': DARTS_V2_NORMAL, 'normal_concat': [2, 3, 4, 5], 'ops': ['sep3', 'sep5']}
    path = tmp_path / f'sub/genotype{suffix}'
    save_genotype('darts', genotype, path, epoch=3)
    space, loaded, meta = read_genotype_file(path)
    assert (space, meta) == ('darts', {'epoch': 3})
    assert loaded['normal'] == [list(edge) for edge in DARTS_V2_NORMAL]
    assert loaded['normal_concat'] == [2, 3, 4, 5]
    assert load_genotype(path, required_keys=['space', 'genotype'])['genotype']['ops'] == ['sep3', 'sep5']
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind


@pytest.mark.parametrize('old, expected', [
    ({'genotype': {'space': 'imdn', 'ops': ['conv_3x3'] * 4}, 'scale': 2},  # SR search of srnas 0.1
     ('imdn', {'space': 'imdn', 'ops': ['conv_3x3'] * 4}, {'scale': 2})),
    ({'space': 'nb201', 'arch': '|skip_connect~0|', 'index': 7},  # NB201 search of srnas 0.1
     ('nb201', '|skip_connect~0|', {'index': 7})),
    ({'space': 'dlsr', 'ops': ['conv_3x3'] * 3}, ('dlsr', {'space': 'dlsr', 'ops': ['conv_3x3'] * 3}, {})),
], ids=['sr-wrapped', 'nb201-arch', 'bare'])
def test_genotype_file_reader_accepts_the_older_shapes(tmp_path, old, expected):
    path = tmp_path / 'old.json'
    path.write_text(json.dumps(old))
    assert read_genotype_file(path) == expected


def test_genotype_file_errors_name_the_file(tmp_path):
    with pytest.raises(NASConfigError, match='does not exist'):
        load_genotype(tmp_path / 'missing.json')
    bad = tmp_path / 'bad.json'
    bad.write_text('{"ops": [')
    with pytest.raises(NASConfigError, match=f'{bad} is not valid JSON'):
        load_genotype(bad)
    bad_yaml = tmp_path / 'bad.yaml'
    bad_yaml.write_text('ops: [a, b\n')
    with pytest.raises(NASConfigError, match='is not valid YAML'):
        load_genotype(bad_yaml)
    listing = tmp_path / 'list.json'
    listing.write_text(json.dumps(['sep3']))
    with pytest.raises(NASConfigError, match='mapping at the top level'):
        load_genotype(listing)
    partial = tmp_path / 'partial.json'
    partial.write_text(json.dumps({'ops': []}))
    with pytest.raises(NASConfigError, match=r"lacks key\(s\) \['cells'\]"):
        load_genotype(partial, required_keys=['ops', 'cells'])


def _recorded(tmp_path=None):
    model = ToyEdgeSupernet(num_ops=3)
    recorder = AlphaRecorder()
    path = [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 3.0, 0.0], [0.0, 3.5, 1.0]]
    losses = [1.0, 0.8, 0.5, 0.6, 0.7]
    for epoch, (values, loss) in enumerate(zip(path, losses)):
        with torch.no_grad():
            model.alpha.copy_(torch.tensor(values))
        recorder.record(epoch, model, genotype=derive_argmax(model.alpha, ['op0', 'op1', 'op2']), val_loss=loss)
    return recorder


def test_recorder_series_stability_and_best_epoch():
    recorder = _recorded()
    epochs, values = recorder.series('alpha')
    assert epochs == [0, 1, 2, 3, 4]
    expected = torch.softmax(torch.tensor([0.0, 2.0, 0.0]), -1).tolist()
    assert values[2] == pytest.approx(expected)
    assert recorder.genotype_stable_since() == 2  # op1 wins from epoch 2 on (op0 at epoch 1)
    assert recorder.best_by_val_loss()['epoch'] == 2
    # A2M stops once epoch - best_epoch > patience: last epoch 4, best 2
    assert recorder.should_stop(patience=1) and not recorder.should_stop(patience=2)
    with pytest.raises(NASConfigError, match="no arch parameter 'beta'"):
        recorder.series('beta')
    with pytest.raises(ValueError, match='epochs must increase'):
        recorder.record(4, probs={'alpha': torch.zeros(3)})


def test_recorder_plot_and_save_load(tmp_path):
    import matplotlib.image
    recorder = _recorded()
    png = recorder.plot(tmp_path / 'beta_vs_epoch.png', 'alpha', row=0)
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert matplotlib.image.imread(png).shape[:2] == (400, 600)
    recorder.save(tmp_path / 'alphas.json')
    loaded = AlphaRecorder.load(tmp_path / 'alphas.json')
    assert loaded.entries == json.loads(json.dumps(recorder.entries))
    assert loaded.op_names == {'alpha': ['op0', 'op1', 'op2', ]}
    assert loaded.genotype_stable_since() == 2


def test_top2_margins_per_row():
    from srnas.nas.recorder import top2_margins
    # hand-computed: rows [0.5, 0.3, 0.2] -> 0.2, a tie -> 0, one flat row given alone
    assert top2_margins([[0.5, 0.3, 0.2], [0.1, 0.45, 0.45]]) == pytest.approx([0.2, 0.0])
    assert top2_margins([0.25, 0.6, 0.15]) == pytest.approx([0.35])
    probs = torch.softmax(torch.tensor([[2.0, 0.0, 1.0]]), -1)[0].tolist()
    assert top2_margins(probs) == pytest.approx([(torch.e ** 2 - torch.e) / (torch.e ** 2 + torch.e + 1)])
    with pytest.raises(ValueError, match='two candidates'):
        top2_margins([[1.0]])
