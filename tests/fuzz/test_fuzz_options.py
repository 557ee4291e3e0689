"""Fuzzed option YAMLs: every case ends with exit code 2 and one line naming the file and the option,
or runs (a harmless mutation); never a traceback. Commands run in this process (tests.fuzz.fuzz_helpers)."""
import contextlib
import copy
import tempfile
from pathlib import Path

import pytest
from hypothesis import event, given, strategies as st

from tests.fuzz.fuzz_helpers import error_line, mutated, names_option, run_cli, write_yaml

METRICS = {'psnr': {'type': 'calculate_psnr', 'crop_border': 2, 'test_y_channel': True}}


def _paired(name, folders, **extra):
    gt, lq = folders
    return {'name': name, 'type': 'PairedImageDataset', 'dataroot_gt': str(gt), 'dataroot_lq': str(lq),
            'io_backend': {'type': 'disk'}, **extra}


def train_options(inputs):
    return {
        'name': 'fz', 'model_type': 'SRModel', 'scale': 2, 'num_gpu': 0, 'manual_seed': 0,
        'datasets': {'train': _paired('tr', inputs['train'], gt_size=16, use_hflip=True, use_rot=True,
                                      num_worker_per_gpu=0, batch_size_per_gpu=2, dataset_enlarge_ratio=1),
                     'val': _paired('va', inputs['val'])},
        'network_g': {'type': 'SRNASIMDN', 'upscale': 2, 'num_feat': 8, 'num_blocks': 1},
        'path': {'pretrain_network_g': None, 'strict_load_g': True, 'resume_state': None},
        'train': {'ema_decay': 0, 'optim_g': {'type': 'Adam', 'lr': 1e-3, 'betas': [0.9, 0.99]},
                  'scheduler': {'type': 'MultiStepLR', 'milestones': [100], 'gamma': 0.5},
                  'total_iter': 1, 'warmup_iter': -1,
                  'pixel_opt': {'type': 'L1Loss', 'loss_weight': 1.0, 'reduction': 'mean'}},
        'val': {'val_freq': 1, 'save_img': False, 'metrics': copy.deepcopy(METRICS)},
        'logger': {'print_freq': 1, 'save_checkpoint_freq': 1, 'use_tb_logger': False},
    }


def sr_test_options(inputs):
    return {'name': 'fz_test', 'model_type': 'SRModel', 'scale': 2, 'num_gpu': 0,
            'datasets': {'test_1': _paired('te', inputs['val'])},
            'network_g': {'type': 'SRNASIMDN', 'upscale': 2, 'num_feat': 8, 'num_blocks': 1},
            'path': {'pretrain_network_g': str(inputs['imdn_weights']), 'strict_load_g': True},
            'val': {'save_img': False, 'metrics': copy.deepcopy(METRICS)}}


def search_options(inputs):
    return {
        'name': 'fz_search', 'model_type': 'SRNASSearchModel', 'scale': 2, 'num_gpu': 0, 'manual_seed': 0,
        'datasets': {'train': _paired('tr', inputs['train'], gt_size=16, use_hflip=True, use_rot=True,
                                      num_worker_per_gpu=0, batch_size_per_gpu=2),
                     'train_arch': _paired('ar', inputs['val'], gt_size=16, use_hflip=True, use_rot=True,
                                           num_worker_per_gpu=0, batch_size_per_gpu=2)},
        'network_g': {'type': 'SRNASIMDNSupernet', 'upscale': 2, 'num_feat': 8, 'num_blocks': 1, 'partial_k': 1},
        'search': {'iters_per_epoch': 1, 'plot': False},
        'architect': {'type': 'first_order', 'optimizer': {'type': 'adam', 'lr': 0.01},
                      'regularizers': [{'type': 'sa'}]},
        'train': {'optim_g': {'type': 'Adam', 'lr': 5e-4}, 'total_iter': 1,
                  'pixel_opt': {'type': 'L1Loss', 'loss_weight': 1.0, 'reduction': 'mean'}},
        'logger': {'print_freq': 1, 'use_tb_logger': False},
    }


def export_options(inputs):
    return {'name': 'fz_child', 'scale': 2, 'network_g': dict(inputs['child']),
            'path': {'pretrain_network_g': str(inputs['child_weights'])}}


def classification_options(_inputs):
    return {'name': 'fz_cls', 'manual_seed': 0, 'num_gpu': 0, 'threads': 1,
            'space': {'type': 'nb201', 'channels': 4, 'cells_per_stage': 1},
            'data': {'name': 'digits', 'image_size': 8, 'batch_size': 16, 'subset': 32, 'num_workers': 0},
            'train': {'epochs': 1, 'lr': 0.025, 'max_steps_per_epoch': 1},
            'architect': {'type': 'first_order', 'optimizer': {'type': 'adam', 'lr': 3e-3}},
            'search': {'select': 'last'}}


def _argv(command, yml, out):
    if command == 'train':
        return ['train', '-opt', str(yml), '--root', str(out)]
    if command == 'test':
        return ['test', '-opt', str(yml), '--root', str(out)]
    if command == 'search':
        return ['search', '-opt', str(yml), '--root', str(out), '--quiet']
    return ['export', '-opt', str(yml), '-o', str(out / 'exported'), '--no_onnx', '--sizes', '8x8']


def _check(command, case, entry='srnas'):
    opt, description, path = case
    with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(tmp):  # relative outputs land in tmp
        yml = write_yaml(opt, Path(tmp) / f'{command}.yml')
        if entry == 'srnas':
            code, _, err = run_cli(_argv(command, yml, Path(tmp)), entry)
            line = error_line(code, err, f'srnas {command}: error: ')
        else:
            code, _, err = run_cli([command, '-opt', str(yml)], entry)
            line = error_line(code, err, 'error: ')
    event(f'{command}: {"exit 2" if line else "ran"}')
    if line:
        assert str(yml) in line, f'{description}: the file is not named: {line}'
        assert names_option(line, path), f'{description}: the option is not named: {line}'


# (command the options are given to, builder of the valid starting point, entry point)
FUZZED = [('train', train_options, 'srnas'), ('test', sr_test_options, 'srnas'), ('search', search_options, 'srnas'),
          ('export', export_options, 'srnas'), ('search', classification_options, 'classification')]


@pytest.mark.parametrize('command, builder, entry', FUZZED, ids=[f'{e}-{c}' for c, _, e in FUZZED])
@given(data=st.data())
def test_options_fuzzed(fuzz_inputs, command, builder, entry, data):
    _check(command, data.draw(mutated(builder(fuzz_inputs))), entry=entry)


def test_the_unmutated_options_run(fuzz_inputs, tmp_path):
    """The starting points are valid: every error a fuzz case reports comes from its mutation."""
    for command, builder in (('train', train_options), ('test', sr_test_options), ('search', search_options),
                             ('export', export_options)):
        yml = write_yaml(builder(fuzz_inputs), tmp_path / f'{command}.yml')
        code, _, err = run_cli(_argv(command, yml, tmp_path))
        assert code == 0, err[-2000:]
    with contextlib.chdir(tmp_path):
        yml = write_yaml(classification_options(fuzz_inputs), tmp_path / 'cls.yml')
        code, _, err = run_cli(['search', '-opt', str(yml)], 'classification')
    assert code == 0, err[-2000:]
