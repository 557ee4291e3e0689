"""The shipped search options: every paper setting + A2M variants, each with a demo twin that validates."""
from pathlib import Path

import pytest

from srnas.utils.options import read_yaml

OPTIONS = Path(__file__).resolve().parents[2] / 'options' / 'search'
FULL = sorted(p for p in OPTIONS.glob('*.yml') if not p.name.startswith('demo_'))


def test_paper_settings_and_a2m_variants_are_all_there():
    names = {p.stem for p in FULL}
    for stem in ('sa_dlsr_x2', 'sac_dlsr_x2', 'sac_imdn_x2', 'sac_imdn_flops_x2', 'beta_dlsr_x2', 'beta_imdn_x2',
                 'darts_dlsr_x2', 'darts_imdn_x2', 'a2m_sa_dlsr_x2', 'a2m_sac_dlsr_x2', 'a2m_sac_imdn_x2',
                 'a2m_sac_imdn_flops_x2'):
        assert stem in names


@pytest.mark.parametrize('path', FULL, ids=[p.stem for p in FULL])
def test_full_scale_options_follow_the_paper_and_have_a_demo_twin(path):
    from srnas.nas.architects.architect import ARCHITECT_TYPES
    from srnas.nas.regularizers import build_regularizers
    opt = read_yaml(path)
    assert opt['model_type'] == 'SRNASSearchModel'
    assert opt['train']['optim_g']['lr'] == 5e-4 and opt['train']['optim_g']['weight_decay'] == 1e-8
    assert opt['architect']['optimizer']['lr'] == 3e-4 and opt['architect']['optimizer']['weight_decay'] == 1e-8
    assert opt['architect']['type'] in ARCHITECT_TYPES
    build_regularizers(opt['architect']['regularizers'])
    assert opt['search']['train_image_range'] == [1, 700] and opt['search']['arch_image_range'] == [701, 800]
    sac = path.stem.startswith(('sac_', 'a2m_sac_'))
    assert (opt['network_g']['partial_k'] == 4) == sac
    twin = read_yaml(OPTIONS / f'demo_{path.name}')
    assert twin['architect']['type'] == opt['architect']['type']
    assert twin['architect']['regularizers'] == opt['architect']['regularizers']
    assert twin['network_g']['type'] == opt['network_g']['type']
    assert twin['network_g']['partial_k'] == opt['network_g']['partial_k']


CALIBRATED = [p for p in FULL if '# srnas-calibrated' in p.read_text()]


def test_every_search_file_says_whether_it_is_paper_literal_or_calibrated():
    for path in FULL:
        text = path.read_text()
        assert ('# srnas-calibrated' in text) != ('# paper-literal' in text), path.name
    assert len(CALIBRATED) >= 12


@pytest.mark.parametrize('path', CALIBRATED, ids=[p.stem for p in CALIBRATED])
def test_calibrated_options_differ_from_their_paper_literal_twin_only_in_the_loss_scale(path):
    calibrated, literal_path = read_yaml(path), OPTIONS / 'paper_literal' / path.name
    literal = read_yaml(literal_path)
    assert calibrated['train']['pixel_opt']['loss_weight'] == 255.0  # L1 on the reference's 0..255 scale
    assert literal['train']['pixel_opt']['loss_weight'] == 1.0
    assert literal['name'] == calibrated['name'] + '_literal'
    for opt in (calibrated, literal):
        opt['train']['pixel_opt'].pop('loss_weight')
        opt.pop('name')
    assert calibrated == literal
    assert '# srnas-calibrated' in path.read_text() and '# paper-literal' in literal_path.read_text()
    demo = OPTIONS / f'demo_{path.name}'
    assert read_yaml(demo)['train']['pixel_opt']['loss_weight'] == 255.0 and '# srnas-calibrated' in demo.read_text()
