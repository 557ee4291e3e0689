"""DLSR and IMDN spaces against the published / reference-measured anchors (notes/sr_spaces.md)."""
import pytest
import torch

from srnas.evaluation.complexity import count_params, multi_adds
from srnas.ops.sr_ops import DLSR_CANDIDATES, IMDN_CANDIDATES, build_dlsr_op, build_imdn_op
from srnas.spaces.costs import dlsr_cost_table, imdn_cost_table, network_conv_macs
from srnas.spaces.dlsr import DLSRChild
from srnas.spaces.genotypes import DLSR_PAPER_GENOTYPE, GenotypeError, load_genotype
from srnas.spaces.imdn import IMDNChild

ALL_CONV3 = {'space': 'imdn', 'ops': ['conv_3x3'] * 4}


def test_dlsr_candidate_params_match_reference_at_48_channels():
    expected = [2304, 20736, 57600, 112896, 5472, 7008, 9312, 2736, 3504]
    assert [count_params(build_dlsr_op(name, 48)) for name in DLSR_CANDIDATES] == expected


def test_dlsr_candidates_at_50_channels_give_the_reference_penalty_vector():
    # The DLSR code's hard-coded penalty [2.5, 22.5, ...] is these counts at C=50, in thousands.
    expected = [2.5, 22.5, 62.5, 122.5, 5.9, 7.5, 9.9, 2.95, 3.75]
    assert [count_params(build_dlsr_op(name, 50)) / 1000 for name in DLSR_CANDIDATES] == expected


@pytest.mark.parametrize('scale, params, giga_multi_adds', [(2, 327_804, 68.50), (4, 343_392, 18.02)])
def test_dlsr_paper_child_matches_paper(scale, params, giga_multi_adds):
    model = DLSRChild(DLSR_PAPER_GENOTYPE, upscale=scale)
    assert count_params(model) == params
    assert multi_adds(model, scale) / 1e9 == pytest.approx(giga_multi_adds, abs=0.005)


def test_dlsr_child_output_shape_on_non_square_input():
    model = DLSRChild(DLSR_PAPER_GENOTYPE, upscale=3).eval()
    with torch.no_grad():
        assert model(torch.rand(1, 3, 17, 23)).shape == (1, 3, 51, 69)


def test_imdn_all_conv3x3_child_is_the_original_imdn():
    from srnas.archs.imdn_arch import SRNASIMDN
    for scale in (2, 4):
        child, original = IMDNChild(ALL_CONV3, upscale=scale), SRNASIMDN(upscale=scale)
        assert count_params(child) == count_params(original)
        assert list(child.state_dict()) == list(original.state_dict())
        assert multi_adds(child, scale) == multi_adds(original, scale)
    assert count_params(IMDNChild(ALL_CONV3, upscale=2)) == 694_404


def test_imdn_all_sep3x3_conv_macs_at_x2():
    child = IMDNChild({'space': 'imdn', 'ops': ['sep_conv_3x3'] * 4}, upscale=2)
    assert network_conv_macs(child, 2) / 1e9 == pytest.approx(39.61, abs=0.005)
    assert network_conv_macs(IMDNChild(ALL_CONV3, upscale=2), 2) / 1e9 == pytest.approx(158.77, abs=0.005)


def test_imdn_candidate_params_per_position():
    # notes/sr_spaces.md §3.2 (one-stage separable convs).
    assert count_params(build_imdn_op('sep_conv_3x3', 64, 64)) == 4736
    assert count_params(build_imdn_op('conv_5x5', 48, 16)) == 19216
    assert count_params(build_imdn_op('conv_3x3_bn', 64, 64)) == 64 * 64 * 9 + 64 + 2 * 64  # bias kept, BN affine


def test_imdn_bn_candidates_keep_the_bias_as_sa_darts_counts():
    # SA-DARTS Table 3, "IMDN + Beta-DARTS" at x4: 1,773.67 K params; with the conv bias dropped
    # under BN the same network has 864 fewer (1,772,808).
    genotype = {'space': 'imdn', 'ops': ['conv_5x5_bn', 'conv_5x5', 'conv_5x5_bn', 'conv_5x5_bn']}
    assert count_params(IMDNChild(genotype, upscale=4)) == 1_773_672
    assert count_params(build_imdn_op('dil_sep_conv_5x5', 48, 64)) == 4336


def test_cost_tables_add_up_to_the_child_conv_macs():
    # Swapping one op in all 6 DLSR cells changes the network's conv MACs by 6x the table difference.
    table = dlsr_cost_table(2)
    cheap = dict(DLSR_PAPER_GENOTYPE, ops=['conv_1x1', 'sep_conv_5x5', 'sep_conv_5x5'])
    diff = network_conv_macs(DLSRChild(DLSR_PAPER_GENOTYPE), 2) - network_conv_macs(DLSRChild(cheap), 2)
    i3, i1 = DLSR_CANDIDATES.index('sep_conv_3x3'), DLSR_CANDIDATES.index('conv_1x1')
    assert diff == pytest.approx(6 * (table[0, i3] - table[0, i1]).item())
    # IMDN: the searched part of the all-sep3x3 child is the table's sep3x3 column x 6 blocks.
    imdn = imdn_cost_table(2)
    j = IMDN_CANDIDATES.index('sep_conv_3x3')
    conv3 = network_conv_macs(IMDNChild(ALL_CONV3), 2)
    sep3 = network_conv_macs(IMDNChild({'space': 'imdn', 'ops': ['sep_conv_3x3'] * 4}), 2)
    assert conv3 - sep3 == pytest.approx(6 * (imdn[:, 0] - imdn[:, j]).sum().item())
    assert imdn[0, j].item() / 1e9 == pytest.approx(1.076, abs=5e-4)


def test_unknown_op_is_a_clear_error():
    with pytest.raises(GenotypeError, match="unknown dlsr operation 'conv_9x9'"):
        DLSRChild(dict(DLSR_PAPER_GENOTYPE, ops=['conv_9x9', 'sep_conv_5x5', 'sep_conv_5x5']))


def test_wrong_space_genotype_is_a_clear_error(tmp_path):
    path = tmp_path / 'g.json'
    path.write_text('{"space": "dlsr", "ops": ["conv_1x1", "conv_1x1", "conv_1x1"],'
                    ' "connections": [[1, 2], [1, 2], [1, 2], [1, 2]]}')
    with pytest.raises(GenotypeError, match=r"g\.json: this is a 'dlsr' genotype but a 'imdn' network"):
        IMDNChild(str(path))
    with pytest.raises(GenotypeError, match='cell 4 must read two different earlier cells'):
        load_genotype(dict(DLSR_PAPER_GENOTYPE, connections=[[1, 2], [4, 1], [1, 2], [1, 2]]))


def test_the_printed_sac_imdn_genotype_is_the_flops_constrained_one():
    import warnings

    from srnas.spaces import genotypes
    from srnas.spaces.imdn import IMDNChild
    params = sum(p.numel() for p in IMDNChild(genotypes.IMDN_SAC_FLOPS_GENOTYPE, upscale=4).parameters())
    # SA-DARTS Table 7: "SAC-IMDN w/ FLOPs constraint" 200.04 K, plain "SAC-IMDN" 349.22 K
    assert abs(params - 200_040) / 200_040 < 0.02 and params < 349_220 * 0.6
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        assert genotypes.IMDN_SAC_GENOTYPE == genotypes.IMDN_SAC_FLOPS_GENOTYPE
    assert 'IMDN_SAC_FLOPS_GENOTYPE' in str(caught[0].message)
