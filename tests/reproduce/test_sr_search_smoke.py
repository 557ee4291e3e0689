"""reproduce/sr_search.py: the --scale smoke run (real SunHays80 + Set5, every stage through the srnas CLIs,
resumable) and the children every space is compared against."""
import importlib.util
import json
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT


def _module():
    spec = importlib.util.spec_from_file_location('sr_search', REPO_ROOT / 'reproduce' / 'sr_search.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_space_gets_valid_random_and_the_published_children(tmp_path):
    from srnas.spaces.genotypes import DLSR_PAPER_GENOTYPE, IMDN_SAC_FLOPS_GENOTYPE, load_genotype
    sr_search = _module()
    scale = dict(sr_search.SCALES['cpu'])
    found = {space: sr_search.children(tmp_path, space, [], scale) for space in ('dlsr', 'imdn')}
    for space, kids in found.items():
        randoms = [load_genotype(path, space) for _, group, path in kids if group == 'random']
        assert len(randoms) == 3 and len({json.dumps(g) for g in randoms}) == 3
    published = {cid: load_genotype(path) for space in found for cid, group, path in found[space]
                 if group == 'published'}
    assert published == {'published_dlsr_paper': DLSR_PAPER_GENOTYPE, 'published_sac_imdn': IMDN_SAC_FLOPS_GENOTYPE,
                         'published_imdn': {'space': 'imdn', 'ops': ['conv_3x3'] * 4}}
    # the same random genotypes on every run
    again = sr_search.children(tmp_path / 'again', 'dlsr', [], scale)
    assert [load_genotype(p) for _, _, p in again] == [load_genotype(p) for _, _, p in found['dlsr']]


@pytest.mark.slow
@pytest.mark.shared_data
def test_smoke_scale_runs_end_to_end_and_resumes(tmp_path, shared_data):
    if not (shared_data / 'train' / 'SunHays80').is_dir():
        pytest.skip('SunHays80 not in ../shared/data')
    out = tmp_path / 'sr_search'
    cmd = [sys.executable, str(REPO_ROOT / 'reproduce' / 'sr_search.py'), '--scale', 'smoke', '--out', str(out)]
    first = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO_ROOT)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    results = json.loads((out / 'results.json').read_text())
    [search] = results['searches']
    assert (search['space'], search['method']) == ('dlsr', 'sac')
    assert set(search['alpha_grad_norms']) == {'data', 'sa', 'total'}
    [child] = results['children']
    assert child['group'] == 'searched' and child['genotype'] == search['genotype']
    psnr, ssim = child['metrics']['Set5']['psnr'], child['metrics']['Set5']['ssim']
    assert 5 < psnr < 60 and 0 < ssim <= 1 and child['params'] > 0 and child['multi_adds'] > 0
    assert 'searched_sac' in (out / 'table.md').read_text()
    assert (out / 'psnr_vs_multiadds_dlsr.png').stat().st_size > 0
    # a second run finds every unit done and only rebuilds the summary
    second = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO_ROOT)
    assert second.returncode == 0, second.stderr[-3000:]
    again = json.loads((out / 'results.json').read_text())
    assert again['children'] == results['children'] and again['searches'] == results['searches']
    assert again['wall_s'] < results['wall_s'] / 3


def test_urban100_subset_links_every_tenth_image_of_both_halves(tmp_path):
    sr_search = _module()
    for part in ('GTmod2', 'LRbicx2'):
        (tmp_path / 'Urban100' / part).mkdir(parents=True)
        for i in range(1, 26):
            (tmp_path / 'Urban100' / part / f'img_{i:03d}.png').write_bytes(b'x')
    subset = sr_search.benchmark_subset(tmp_path, 'Urban100', 10)
    for part in ('GTmod2', 'LRbicx2'):
        assert sorted(p.name for p in (subset / part).iterdir()) == ['img_001.png', 'img_011.png', 'img_021.png']
    assert sr_search.benchmark_subset(tmp_path, 'Urban100', 10) == subset  # idempotent
    assert sr_search.set_label('Urban100', sr_search.SCALES['cpu']) == 'Urban100_every10'
    assert sr_search.set_label('B100', sr_search.SCALES['cpu']) == 'B100'


def test_a_resume_with_other_settings_is_refused(tmp_path):
    sr_search = _module()
    scale = dict(sr_search.SCALES['cpu'])
    sr_search.check_settings(tmp_path, scale)
    sr_search.check_settings(tmp_path, dict(scale))  # the same settings resume
    with pytest.raises(SystemExit, match='settings.json'):
        sr_search.check_settings(tmp_path, dict(scale, seeds=3))


def test_a_partial_run_is_reported_with_its_remaining_units(tmp_path):
    sr_search = _module()
    scale = sr_search.SCALES['smoke']
    search = {'space': 'dlsr', 'method': 'sac', 'genotype': {'ops': ['conv_3x3'] * 3}, 'seconds': 10.0,
              'stable_since_epoch': 1, 'epochs': 2, 'top2_margin': [0.5, 0.25, 0.75]}
    planned = ['search dlsr sac', 'search dlsr darts', 'child dlsr searched_sac seed 0']
    summary, table, _, plots = sr_search.report(tmp_path, 'smoke', scale, [search], [], planned, 0.0)
    assert summary['remaining'] == ['search dlsr darts', 'child dlsr searched_sac seed 0'] and table == {}
    assert plots == [] and '| 0.250 |' in (tmp_path / 'table.md').read_text()
    child = {'space': 'dlsr', 'child': 'searched_sac', 'group': 'searched', 'seed': 0,
             'genotype': search['genotype'], 'metrics': {'Set5': {'psnr': 30.0, 'ssim': 0.9}}, 'params': 10,
             'multi_adds': 2e9, 'seconds': 5.0}
    summary, table, _, plots = sr_search.report(tmp_path, 'smoke', scale, [search], [child], planned, 0.0)
    assert summary['remaining'] == ['search dlsr darts'] and json.loads((tmp_path / 'results.json').read_text())
    assert '30.00 +- 0.00' in (tmp_path / 'table.md').read_text() and plots[0].stat().st_size > 0


def test_a_child_with_the_genotype_and_seed_of_a_trained_one_reuses_its_result(tmp_path, monkeypatch):
    sr_search = _module()
    key = sr_search.training_key
    a = {'space': 'imdn', 'ops': ['conv_3x3_bn', 'conv_5x5_bn', 'conv_3x3_bn', 'conv_3x3_bn']}
    assert key(a, 0) == key(dict(reversed(list(a.items()))), 0)  # dict order does not matter
    assert key(a, 0) != key(a, 1)
    dlsr = {'space': 'dlsr', 'ops': ['conv_7x7'] * 3, 'connections': [[2, 1], [2, 1], [1, 2], [2, 1]]}
    swapped = dict(dlsr, connections=[[1, 2], [2, 1], [1, 2], [2, 1]])  # connection order changes the child
    assert key(dlsr, 0) != key(swapped, 0)

    genotype_file = tmp_path / 'beta.json'
    genotype_file.write_text(json.dumps({'genotype': a, 'scale': 2}))
    first = {'space': 'imdn', 'child': 'searched_sa', 'group': 'searched', 'seed': 0, 'genotype': a,
             'metrics': {'Set5': {'psnr': 30.0, 'ssim': 0.9}}, 'params': 10, 'multi_adds': 2e9, 'seconds': 120.0}

    def no_training(*args, **kwargs):
        raise AssertionError('a twin of a trained child must not be trained again')
    monkeypatch.setattr(sr_search, 'cli', no_training)
    smoke = sr_search.SCALES['smoke']
    r = sr_search.run_child_unit(tmp_path, 'imdn', 'searched_beta', 'searched', genotype_file, 0, smoke, tmp_path,
                                 trained={key(a, 0): first})
    assert (r['child'], r['group'], r['metrics'], r['trained_as'], r['seconds']) == \
        ('searched_beta', 'searched', first['metrics'], 'searched_sa seed 0', 0.0)
    assert json.loads((tmp_path / 'children' / 'imdn' / 'searched_beta' / 'seed0' / 'done.json').read_text()) == r
    # another seed, or no twin, goes to training
    for trained in ({key(a, 1): dict(first, seed=1)}, {}):
        with pytest.raises(AssertionError, match='must not be trained'):
            sr_search.run_child_unit(tmp_path / 'x', 'imdn', 'searched_beta', 'searched', genotype_file, 0, smoke,
                                     tmp_path, trained=trained)
    table = sr_search.aggregate([first, r], ['Set5'])
    assert table[('imdn', 'searched_beta')]['same_as'] == ['searched_sa']
    assert '| searched_beta (= searched_sa) |' in sr_search.markdown(table, ['Set5'], [])
    # the projection counts only trained units
    assert sr_search.projection([], [first, r], 0, 4)['child_unit_s_each'] == 120.0


def test_group_comparison_gives_group_spreads_and_the_searched_children_beyond_the_random_ones():
    sr_search = _module()

    def row(group, mean, seed_sd):
        return {'group': group, 'seeds': 2, 'Set5_psnr': (mean, seed_sd)}
    table = {('dlsr', 'searched_a'): row('searched', 31.0, 0.1), ('dlsr', 'searched_b'): row('searched', 29.0, 0.2),
             ('dlsr', 'searched_c'): row('searched', 30.2, 0.2),  # inside the random children's band
             ('dlsr', 'random_1'): row('random', 30.0, 0.3), ('dlsr', 'random_2'): row('random', 30.2, 0.1)}
    groups, verdicts = sr_search.group_comparison(table, ['Set5'])
    by_group = {g: (n, cells['Set5']) for _, g, n, cells in groups}
    n, (mean, spread, seed_sd) = by_group['searched']
    assert n == 3 and mean == pytest.approx(30.0666667) and seed_sd == pytest.approx(0.5 / 3)
    assert spread == pytest.approx(((0.9333333 ** 2 + 1.0666667 ** 2 + 0.1333333 ** 2) / 2) ** 0.5)
    n, (mean, spread, seed_sd) = by_group['random']
    assert n == 2 and mean == pytest.approx(30.1) and spread == pytest.approx(0.2 / 2 ** 0.5)
    assert seed_sd == pytest.approx(0.2)
    # a: 31.0 - 0.1 > 30.3 (the highest random mean + sd); b: 29.0 + 0.2 < 29.7 (the lowest random mean - sd)
    assert verdicts == [('dlsr', 'Set5', 3, 2, ['searched_a'], ['searched_b'])]
    # a child of one seed has no spread: it is left out of the verdict (here the only random child left)
    one_seed = dict(table)
    one_seed[('dlsr', 'random_2')] = dict(table[('dlsr', 'random_2')], seeds=1)
    assert sr_search.group_comparison(one_seed, ['Set5'])[1] == [('dlsr', 'Set5', 3, 1, ['searched_a'], ['searched_b'])]
    one_seed[('dlsr', 'random_1')] = dict(table[('dlsr', 'random_1')], seeds=1)
    assert sr_search.group_comparison(one_seed, ['Set5'])[1] == []
    full = {k: dict(v, genotype={}, params=1, multi_adds=1e9, Set5_ssim=(0.9, 0.0)) for k, v in table.items()}
    text = sr_search.markdown(full, ['Set5'], [])
    assert '| dlsr | searched | 3 | 30.07 +- 1.01 [0.17] |' in text
    assert '| dlsr | Set5 | 3 / 2 | searched_a | searched_b |' in text
