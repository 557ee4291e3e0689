"""Cases the fuzzer found (each was a traceback from deep inside BasicSR or torch), kept as plain tests:
exit code 2 and one line naming the file and the option."""
import contextlib

import pytest

from tests.fuzz.fuzz_helpers import error_line, run_cli, write_yaml
from tests.fuzz.test_fuzz_options import classification_options, search_options, train_options


def _delete(*path):
    def apply(opt):
        node = opt
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
    return apply


def _set(value, *path):
    def apply(opt):
        node = opt
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return apply


TRAIN_CASES = [
    ('logger.print_freq', _delete('logger', 'print_freq')),
    ('logger.save_checkpoint_freq', _delete('logger', 'save_checkpoint_freq')),
    ('train.optim_g.lr', _delete('train', 'optim_g', 'lr')),
    ('train.optim_g', _delete('train', 'optim_g')),
    ('train.scheduler', _delete('train', 'scheduler')),
    ('train.scheduler.milestones', _delete('train', 'scheduler', 'milestones')),
    ('train.pixel_opt.extra', _set(1, 'train', 'pixel_opt', 'extra')),
    ('train.optim_g.extra', _set(1, 'train', 'optim_g', 'extra')),
    ('datasets.train.io_backend', _set([{'type': 'disk'}], 'datasets', 'train', 'io_backend')),
    ('datasets.train.io_backend.type', _set(None, 'datasets', 'train', 'io_backend', 'type')),
    ('datasets.train.io_backend.extra', _set(1, 'datasets', 'train', 'io_backend', 'extra')),
    ('datasets.train.dataroot_gt', _set(['x'], 'datasets', 'train', 'dataroot_gt')),
    ('datasets.train.use_hflip', _delete('datasets', 'train', 'use_hflip')),
    ('model_type', _set(['SRModel'], 'model_type')),
    ('name', _set(['fz'], 'name')),
    ('network_g', _set([8], 'network_g', 'num_feat')),
    ('val.metrics.psnr.crop_border', _set({'a': 1}, 'val', 'metrics', 'psnr', 'crop_border')),
    ('val.val_freq', _set(0, 'val', 'val_freq')),
    ('val.val_freq', _delete('val', 'val_freq')),
    ('logger.print_freq', _set(float('nan'), 'logger', 'print_freq')),
    ('num_gpu', _delete('num_gpu')),
]


@pytest.mark.parametrize('option, mutate', TRAIN_CASES, ids=[f'{c[0]}-{i}' for i, c in enumerate(TRAIN_CASES)])
def test_train_file_errors_name_the_option(fuzz_inputs, tmp_path, option, mutate):
    opt = train_options(fuzz_inputs)
    mutate(opt)
    yml = write_yaml(opt, tmp_path / 'train.yml')
    code, _, err = run_cli(['train', '-opt', str(yml), '--root', str(tmp_path)])
    line = error_line(code, err, 'srnas train: error: ')
    assert line is not None and str(yml) in line and f"option '{option}'" in line, line


def test_search_file_without_data_loss_names_it(fuzz_inputs, tmp_path):
    opt = search_options(fuzz_inputs)
    del opt['train']['pixel_opt']
    yml = write_yaml(opt, tmp_path / 'search.yml')
    line = error_line(*run_cli(['search', '-opt', str(yml), '--root', str(tmp_path)])[::2], 'srnas search: error: ')
    assert line is not None and "option 'train.pixel_opt'" in line, line


def test_yaml_syntax_error_is_one_line(tmp_path):
    yml = tmp_path / 'bad.yml'
    yml.write_text('name: x\ndatasets: [\n  train: {\n')
    line = error_line(*run_cli(['train', '-opt', str(yml)])[::2], 'srnas train: error: ')
    assert line is not None and str(yml) in line and 'not valid YAML' in line


@pytest.mark.parametrize('section, key, value', [('', 'output_root', ['x']), ('data', 'num_workers', {'a': 1}),
                                                 ('space', 'channels', {'a': 1}), ('', 'architect', 'abc')])
def test_classification_values_of_the_wrong_kind_name_the_file_and_option(fuzz_inputs, tmp_path, section, key,
                                                                          value):
    opt = classification_options(fuzz_inputs)
    (opt[section] if section else opt)[key] = value
    yml = write_yaml(opt, tmp_path / 'cls.yml')
    with contextlib.chdir(tmp_path):
        line = error_line(*run_cli(['search', '-opt', str(yml)], 'classification')[::2], 'error: ')
    assert line is not None and str(yml) in line and key in line, line
