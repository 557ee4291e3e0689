"""Adding a search space is one module: the toy space of docs/extending.md searches, derives and trains."""
import pytest
import torch
import yaml

from tests.sr_search.sr_helpers import search_options, write_options


@pytest.mark.slow
def test_a_space_added_in_one_module_searches_derives_and_trains(tmp_path, tiny_sr_data):
    from tests.sr_search import toy_space  # noqa: F401  (registers the space)
    from basicsr.archs import build_network
    from srnas.commands.derive import derive_child
    from srnas.commands.search import run_sr_search
    from srnas.spaces.genotypes import load_genotype

    architect = {'type': 'first_order', 'optimizer': {'type': 'adam', 'lr': 0.05}, 'regularizers': [{'type': 'sa'}]}
    opt = search_options(tiny_sr_data, 'toy_search', {'type': 'SRNASToySupernet', 'upscale': 2, 'num_feat': 8},
                         architect, total_iter=4, iters_per_epoch=2)
    result = run_sr_search(write_options(opt, tmp_path / 'toy.yml'), root=tmp_path, progress=False)
    assert result['genotype']['space'] == 'toy' and len(result['genotype']['ops']) == 2
    assert load_genotype(str(result['genotype_file'])) == result['genotype']
    assert sorted(p.name for p in result['plots']) == ['alpha_1.png', 'alpha_2.png']

    derived = derive_child(result['genotype_file'], preset='demo', out_dir=tmp_path / 'derived')
    network = yaml.safe_load(derived['train_options'].read_text())['network_g']
    assert network['type'] == 'SRNASToyChild'
    child = build_network(dict(network))
    assert child.genotype == result['genotype']
    sizes = {'conv_1x1': 1, 'conv_3x3': 3, 'conv_5x5': 5}
    assert [b.kernel_size[0] for b in child.blocks] == [sizes[op] for op in result['genotype']['ops']]
    assert child(torch.rand(1, 3, 12, 10)).shape == (1, 3, 24, 20)


def test_a_genotype_of_an_unregistered_or_misspelt_space_is_a_clear_error():
    from srnas.errors import GenotypeError
    from srnas.spaces.genotypes import validate_genotype
    with pytest.raises(GenotypeError, match="'space' must be one of .*got 'toyy'"):
        validate_genotype({'space': 'toyy', 'ops': []})
