"""Bad input stops with one clear message naming the file or option (never a deep BasicSR traceback)."""
import copy
from pathlib import Path

import pytest
import yaml

from srnas.cli import main as srnas_main
from srnas.utils.errors import InputError
from srnas.utils.options import apply_overrides, load_options

from tests.foundation.helpers import random_pairs, train_options, write_yaml


@pytest.fixture()
def good(tmp_path):
    gt, lq = random_pairs(tmp_path / 'train', 2)
    vgt, vlq = random_pairs(tmp_path / 'val', 2, sizes=((12, 10),))
    return tmp_path, train_options(gt, lq, vgt, vlq)


def _expect_error(tmp_path, opt, *fragments):
    path = write_yaml(tmp_path / 'opt.yml', opt)
    with pytest.raises(InputError) as info:
        load_options(path)
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_valid_options_pass(good):
    tmp_path, opt = good
    loaded = load_options(write_yaml(tmp_path / 'opt.yml', opt))
    assert loaded['network_g']['type'] == 'SRNASIMDN'


def test_missing_dataroot(good):
    tmp_path, opt = good
    del opt['datasets']['train']['dataroot_lq']
    _expect_error(tmp_path, opt, "datasets.train.dataroot_lq", 'missing dataroot')
    opt['datasets']['train']['dataroot_lq'] = str(tmp_path / 'nowhere')
    _expect_error(tmp_path, opt, "datasets.train.dataroot_lq", 'not found', 'nowhere')


def test_lr_hr_size_mismatch(good):
    tmp_path, opt = good
    opt['scale'] = 3
    opt['network_g']['upscale'] = 3
    opt['datasets']['train']['gt_size'] = 18
    _expect_error(tmp_path, opt, 'not x3', 'img0.png')


def test_unreadable_image(good):
    tmp_path, opt = good
    (tmp_path / 'val' / 'GT' / 'img0.png').write_bytes(b'not a png at all')
    _expect_error(tmp_path, opt, 'cannot read image file', 'img0.png')


def test_unknown_key_and_type(good):
    tmp_path, opt = good
    bad = copy.deepcopy(opt)
    bad['trian'] = {}
    _expect_error(tmp_path, bad, "'trian'", 'unknown top-level key')
    bad = copy.deepcopy(opt)
    bad['train']['optim_g']['lrr'] = 1
    bad['train']['optim_g'].pop('lr')
    bad = copy.deepcopy(opt)
    bad['network_g']['num_feats'] = 16
    _expect_error(tmp_path, bad, 'network_g.num_feats', 'unknown argument of SRNASIMDN')
    bad = copy.deepcopy(opt)
    bad['network_g']['type'] = 'SRNASIMDNN'
    _expect_error(tmp_path, bad, 'network_g.type', "unknown type 'SRNASIMDNN'")
    bad = copy.deepcopy(opt)
    bad['datasets']['train']['type'] = 'PairedImageDatset'
    _expect_error(tmp_path, bad, 'datasets.train.type', 'unknown type')
    bad = copy.deepcopy(opt)
    bad['train']['pixel_opt']['type'] = 'L1'
    _expect_error(tmp_path, bad, 'train.pixel_opt.type', "unknown type 'L1'")
    bad = copy.deepcopy(opt)
    bad['val']['metrics']['psnr']['type'] = 'psnr'
    _expect_error(tmp_path, bad, 'val.metrics.psnr.type')


def test_wrongly_typed_value(good):
    tmp_path, opt = good
    opt['train']['optim_g']['lr'] = '2e-4'  # what YAML makes of an unquoted 2e-4
    _expect_error(tmp_path, opt, 'train.optim_g.lr', 'must be a number', '!!float')


def test_overrides_follow_basicsr_rules(good):
    _, opt = good
    apply_overrides(opt, ['train:total_iter=7', 'val:save_img=true', 'path:resume_state=~'])
    assert opt['train']['total_iter'] == 7 and opt['val']['save_img'] is True
    assert opt['path']['resume_state'] is None
    cell = '|nor_conv_3x3~0|+|skip_connect~0|none~1|+|skip_connect~0|none~1|avg_pool_3x3~2|'  # no YAML value
    apply_overrides(opt, [f'name={cell}', 'val:save_img=[1, 2]'])
    assert opt['name'] == cell and opt['val']['save_img'] == [1, 2]
    with pytest.raises(InputError, match='does not exist'):
        apply_overrides(opt, ['train:new_key=1'])


@pytest.mark.parametrize('command', ['train', 'test'])
def test_cli_prints_one_line_and_exits_2(good, capsys, command):
    tmp_path, opt = good
    opt['network_g']['type'] = 'NoSuchNet'
    if command == 'test':
        opt['datasets'] = {'test_1': opt['datasets']['val']}
    path = write_yaml(tmp_path / 'opt.yml', opt)
    assert srnas_main([command, '-opt', str(path), '--root', str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count('\n') == 0 and 'Traceback' not in err
    assert err.startswith(f'srnas {command}: error: {path}') and 'NoSuchNet' in err


def test_unreadable_image_in_a_gt_less_test_set(tmp_path):
    _, lq = random_pairs(tmp_path / 'single', 2, sizes=((8, 8),))
    (lq / 'notes.txt').write_text('not an image')
    opt = {'name': 't', 'model_type': 'SRModel', 'scale': 2, 'num_gpu': 0,
           'datasets': {'test_1': {'name': 'mine', 'type': 'SingleImageDataset', 'dataroot_lq': str(lq),
                                   'io_backend': {'type': 'disk'}}},
           'network_g': {'type': 'SRNASIMDN', 'upscale': 2}, 'path': {}, 'val': {'save_img': True}}
    path = write_yaml(tmp_path / 't.yml', opt)
    with pytest.raises(InputError, match=r"datasets\.test_1\.dataroot_lq.*notes\.txt"):
        load_options(path, is_train=False)


def test_base_inheritance_merges_mappings_and_replaces_the_rest(tmp_path):
    from srnas.utils.options import read_yaml
    (tmp_path / 'parent').mkdir()
    write_yaml(tmp_path / 'parent' / 'root.yml', {'name': 'root', 'scale': 2, 'train': {'lr': 1, 'milestones': [1, 2]},
                                                  'search': {'iters_per_epoch': 10}})
    write_yaml(tmp_path / 'middle.yml', {'base': 'parent/root.yml', 'name': 'middle', 'train': {'milestones': [5]}})
    write_yaml(tmp_path / 'leaf.yml', {'base': 'middle.yml', 'name': 'leaf', 'search': {'plot': False}})
    assert read_yaml(tmp_path / 'leaf.yml') == {
        'name': 'leaf', 'scale': 2, 'train': {'lr': 1, 'milestones': [5]},
        'search': {'iters_per_epoch': 10, 'plot': False}}
    write_yaml(tmp_path / 'loop_a.yml', {'base': 'loop_b.yml'})
    write_yaml(tmp_path / 'loop_b.yml', {'base': 'loop_a.yml'})
    with pytest.raises(InputError, match="loop_b.yml: option 'base': loop_a.yml is already one of its bases"):
        read_yaml(tmp_path / 'loop_a.yml')
    write_yaml(tmp_path / 'orphan.yml', {'base': 'gone.yml'})
    with pytest.raises(InputError, match="orphan.yml: option 'base': file not found: .*gone.yml"):
        read_yaml(tmp_path / 'orphan.yml')


def test_shipped_search_variants_are_a_few_lines_over_their_base():
    from srnas.utils.options import read_yaml
    folder = Path(__file__).resolve().parents[2] / 'options' / 'search'
    variants = [p for p in folder.glob('*.yml') if 'base' in yaml.safe_load(p.read_text())]
    assert len(variants) >= 20
    for path in variants:
        settings = [line for line in path.read_text().splitlines() if not line.startswith('#')]
        assert len(settings) <= 12, path.name  # the comment header aside, a handful of lines
        merged = read_yaml(path)
        assert merged['name'] == path.stem and 'base' not in merged
