"""Every shipped classification option file is valid, and the command line reports bad input clearly."""
import subprocess
import sys
from pathlib import Path

import pytest

from classification.data.loaders import data_config
from classification.models import (build_search_model, eval_space_config, resolve_genotype, search_space_config)
from classification.options import OptionError, load_options
from srnas.errors import InputError
from classification.search import BENCH_DEFAULTS, SEARCH_DEFAULTS, TRAIN_DEFAULTS as SEARCH_TRAIN_DEFAULTS
from classification.train import TRAIN_DEFAULTS
from classification.options import section
from srnas.nas.architects import build_architect

REPO = Path(__file__).resolve().parents[2]
OPTION_DIR = REPO / 'options' / 'classification'
SEARCH_FILES = sorted(OPTION_DIR.glob('*search*.yml'))
TRAIN_FILES = sorted(OPTION_DIR.glob('*train*.yml'))


def test_option_files_exist_for_the_papers_settings():
    names = {p.stem for p in SEARCH_FILES + TRAIN_FILES}
    for required in ('darts_search_cifar10_first_order', 'darts_search_cifar10_a2m', 'darts_search_cifar10_sa',
                     'darts_search_cifar10_pc', 'nb201_search_cifar10_a2m', 'darts_train_cifar10',
                     'darts_train_imagenet', 'nb201_train_cifar10', 'demo_darts_search_digits',
                     'demo_nb201_search_digits', 'demo_darts_train_digits'):
        assert required in names


@pytest.mark.parametrize('path', SEARCH_FILES, ids=lambda p: p.stem)
def test_search_option_files_build(path):
    opt = load_options(path, 'search')
    space = search_space_config(opt)
    data_config(opt['data'])
    section(opt, 'train', SEARCH_TRAIN_DEFAULTS)
    section(opt, 'search', SEARCH_DEFAULTS)
    section(opt, 'benchmark', BENCH_DEFAULTS)
    # a shrunken model of the same space must accept the architect section as written
    small = {**space, 'channels': 4, 'partial_k': min(space['partial_k'], 2)}
    small.update({'layers': 3} if space['type'] == 'darts' else {'cells_per_stage': 1})
    model = build_search_model(small, 10)
    import torch
    weight_opt = torch.optim.SGD(model.weights(), lr=0.1, momentum=0.9)
    build_architect(model, lambda m, b: m(b).sum(), opt.get('architect'), weight_optimizer=weight_opt)
    if 'cifar10' in path.stem and 'darts_search' in path.stem:
        assert opt['data']['split'] == 'half' and opt['train']['epochs'] == 50


@pytest.mark.parametrize('path', TRAIN_FILES, ids=lambda p: p.stem)
def test_train_option_files_resolve(path):
    opt = load_options(path, 'train')
    space = eval_space_config(opt)
    data_config(opt['data'])
    section(opt, 'train', TRAIN_DEFAULTS)
    if not str(opt['genotype']).startswith('experiments/'):  # demo files point at the demo search output
        resolve_genotype(space['type'], opt['genotype'])
    if path.stem in ('darts_train_cifar10', 'darts_train_cifar100'):
        assert opt['train']['epochs'] == 600 and space['auxiliary'] and opt['data']['cutout'] == 16


def test_unknown_keys_and_overrides(tmp_path):
    path = tmp_path / 'x.yml'
    path.write_text('name: x\nspace: {type: nb201}\nfoo: 1\n')
    with pytest.raises(OptionError, match=r"unknown top-level key\(s\) \['foo'\]"):
        load_options(path, 'search')
    opt = load_options(OPTION_DIR / 'demo_nb201_search_digits.yml', 'search',
                       ['train:epochs=1', 'data:subset=8', 'benchmark:path=null'])
    assert opt['train']['epochs'] == 1 and opt['data']['subset'] == 8 and opt['benchmark'] == {'path': None}
    with pytest.raises(InputError, match="'train:epochs' is not of the form key1:key2=value"):
        load_options(path, 'search', ['train:epochs'])


def test_deprecated_spellings_are_upgraded_with_one_message(tmp_path, capsys):
    from classification.options import upgrade_deprecated
    path = tmp_path / 'old.yml'
    path.write_text('name: old\nseed: 3\ndevice: cpu\nspace: {type: nb201}\n')
    opt = load_options(path, 'search')
    assert (opt['manual_seed'], opt['num_gpu']) == (3, 0) and 'seed' not in opt and 'device' not in opt
    err = capsys.readouterr().err
    assert "option 'seed' is deprecated, use 'manual_seed: 3'" in err and "'num_gpu: 0'" in err
    assert upgrade_deprecated({'device': 'cuda:1'})['num_gpu'] == 1
    with pytest.raises(OptionError, match="both 'seed' \\(deprecated\\) and 'manual_seed'"):
        upgrade_deprecated({'seed': 1, 'manual_seed': 2})


def _cli(*args):
    return subprocess.run([sys.executable, '-m', 'classification', *args], cwd=REPO, capture_output=True, text=True,
                          timeout=600)


def test_cli_reports_bad_input_without_traceback(tmp_path):
    bad = tmp_path / 'bad.yml'
    bad.write_text('name: bad\nspace: {type: darts, layers: 8}\ndata: {name: cifar10, root: /nonexistent}\n')
    result = _cli('search', '-opt', str(bad), '--set', f'output_root={tmp_path}')
    assert result.returncode == 2
    assert 'error:' in result.stderr and 'cifar-10-batches-py' in result.stderr and 'Traceback' not in result.stderr
    result = _cli('train', '-opt', str(OPTION_DIR / 'darts_train_cifar10.yml'), '--set', 'genotype=DARTS_V9')
    assert result.returncode == 2 and 'DARTS_V9' in result.stderr
    assert 'warning: --set key.path=value is deprecated, use --force_yml key:path=value' in result.stderr
    srnas_cls = subprocess.run([sys.executable, '-m', 'srnas', 'cls', 'train', '-opt',
                                str(OPTION_DIR / 'darts_train_cifar10.yml'), '--force_yml', 'genotype=DARTS_V9'],
                               cwd=REPO, capture_output=True, text=True, timeout=600)
    assert srnas_cls.returncode == 2 and 'DARTS_V9' in srnas_cls.stderr and 'deprecated' not in srnas_cls.stderr


@pytest.mark.slow
def test_cli_demo_search_train_eval_round_trip(tmp_path):
    common = ['--force_yml', f'output_root={tmp_path}', 'data:subset=8', 'data:batch_size=4', 'data:image_size=8',
              'train:max_steps_per_epoch=1']
    search = _cli('search', '-opt', str(OPTION_DIR / 'demo_nb201_search_digits.yml'), *common,
                  'train:epochs=1', 'space:channels=4')
    assert search.returncode == 0, search.stderr
    genotype = tmp_path / 'demo_nb201_search_digits' / 'genotype.json'
    train = _cli('train', '-opt', str(OPTION_DIR / 'demo_nb201_train_digits.yml'), *common,
                 'train:epochs=1', 'space:channels=4', f'genotype={genotype}')
    assert train.returncode == 0, train.stderr
    model = tmp_path / 'demo_nb201_train_digits' / 'model_final.pth'
    evaluation = _cli('eval', '-opt', str(OPTION_DIR / 'demo_nb201_train_digits.yml'), '--checkpoint', str(model),
                      '--force_yml', 'data:image_size=8', f'genotype={genotype}')
    assert evaluation.returncode == 0, evaluation.stderr
    assert '"top1"' in evaluation.stdout


@pytest.mark.shared_data
def test_cli_query_reads_nats_excerpt(shared_data):
    result = _cli('query', '--benchmark', str(shared_data / 'nas_benchmarks/NATS-tss-v1_0-3ffb9-simple-excerpt'),
                  '--arch', '284')
    assert result.returncode == 0, result.stderr
    assert '"test": 88.79' in result.stdout


@pytest.mark.parametrize('name', ['darts_search_cifar10_beta', 'darts_search_cifar10_a2m_beta'])
def test_darts_space_beta_strength_is_the_reference_setting(name):
    # A2M's beta-DARTS code (DARTS space): lambda_t * (w_red * mean_e LSE(alpha_reduce)
    # + w_nor * mean_e LSE(alpha_normal)), lambda_t = 0.5 * epoch, w_red = w_nor = 1 (notes/nas_architects.md 1.4);
    # written out here with torch.logsumexp.
    import torch
    from srnas.nas.regularizers import build_regularizers
    opt = load_options(OPTION_DIR / f'{name}.yml', 'search')
    space = {**search_space_config(opt), 'channels': 4, 'layers': 3}
    model = build_search_model(space, 10)
    with torch.no_grad():
        for alpha in model.arch_parameters():
            alpha.copy_(torch.randn_like(alpha))
    groups = dict(model.named_arch_parameters())
    reference_sum = (torch.logsumexp(groups['alphas_normal'], -1).mean()
                     + torch.logsumexp(groups['alphas_reduce'], -1).mean())
    beta = [r for r in build_regularizers(opt['architect']['regularizers']) if r.name == 'beta']
    assert len(beta) == 1
    for epoch in (0, 3, 17):
        assert beta[0](model, epoch).item() == pytest.approx(0.5 * epoch * reference_sum.item(), rel=1e-6)
