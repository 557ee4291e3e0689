"""One error hierarchy: every user error of both packages is an SRNASError, which both command lines catch."""
import pytest

from srnas.errors import GenotypeError, SRNASError


def test_both_packages_raise_the_same_genotype_error():
    from classification.darts import genotypes as darts_genotypes
    from classification.nb201.arch import canonical
    from srnas.spaces.genotypes import validate_genotype
    with pytest.raises(GenotypeError, match="unknown imdn operation 'conv_4x4'"):
        validate_genotype({'space': 'imdn', 'ops': ['conv_3x3', 'conv_3x3', 'conv_3x3', 'conv_4x4']})
    with pytest.raises(GenotypeError):
        darts_genotypes.parse('DARTS_V9')
    with pytest.raises(GenotypeError):
        canonical('|nor_conv_3x3~0|+|bogus~0|')


def _nas_core():
    from srnas.nas.architects import build_architect
    build_architect(None, None, {'type': 'fourth_order'})


def _classification_options():
    from classification.options import load_options
    load_options('/nonexistent.yml', 'search')


def _classification_data():
    from classification.data.loaders import data_config
    data_config({'name': 'mnist-9'})


def _sr_options():
    from srnas.utils.options import read_yaml
    read_yaml('/nonexistent.yml')


@pytest.mark.parametrize('raise_it', [_nas_core, _classification_options, _classification_data, _sr_options])
def test_user_errors_of_every_layer_are_srnas_errors(raise_it):
    with pytest.raises(SRNASError):
        raise_it()
