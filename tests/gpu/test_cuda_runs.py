"""Whole runs on CUDA: an fp16 SR search, ``srnas train`` with fp16 under torchrun (nccl), the classification
training with fp16 and ``train.sync_bn`` under torchrun (nccl).

Truth: the same run in fp32 on the same GPU (TF32 off in-process; the subprocesses keep
PyTorch's defaults, i.e. cuDNN TF32 convolutions, hence the looser bounds there), and a
single-process run for the one-rank torchrun. With one GPU, torchrun runs one rank: nccl
joins, DDP is not used (one process shares nothing) and SyncBatchNorm is not converted;
more ranks need more GPUs (NCCL refuses two ranks on one device).
"""
import json
import re

import pytest
import torch

from tests.foundation.helpers import random_pairs, train_options, write_yaml
from tests.gpu.cuda_helpers import REPO, needs_cuda, relative_gap, run_module
from tests.sr_search.sr_helpers import TINY_DLSR, search_options, write_options

pytestmark = [needs_cuda, pytest.mark.slow]
FIRST_ORDER = {'type': 'first_order', 'optimizer': {'type': 'adam', 'lr': 0.01, 'betas': [0.5, 0.999]},
               'regularizers': [{'type': 'sa'}]}


def _search(tmp_path, data, name, amp):
    from srnas.commands.search import run_sr_search
    opt = search_options(data, name, TINY_DLSR, FIRST_ORDER, total_iter=6, iters_per_epoch=2)
    opt['num_gpu'] = 1
    opt['search']['amp'] = amp
    summary = run_sr_search(write_options(opt, tmp_path / f'{name}.yml'), root=tmp_path, progress=False)
    final = torch.load(tmp_path / 'experiments' / name / 'checkpoints' / 'epoch_00002.pth', weights_only=False)
    return summary, final


def test_an_fp16_sr_search_follows_the_fp32_search(tmp_path, tiny_sr_data):
    _, fp32 = _search(tmp_path, tiny_sr_data, 'fp32', 'none')
    _, fp16 = _search(tmp_path, tiny_sr_data, 'fp16', 'fp16')
    assert fp32['amp'] == {} and fp16['amp']['scale'] > 0  # the GradScaler's state is in the checkpoint
    alphas = [k for k in fp32['model'] if 'alpha' in k]
    assert alphas
    gaps = {k: relative_gap(fp16['model'][k], fp32['model'][k]) for k in fp32['model']
            if fp32['model'][k].is_floating_point()}
    print(f"fp16 vs fp32 search after 6 steps: worst alpha gap {max(gaps[k] for k in alphas):.2e}, "
          f"worst weight gap {max(gaps.values()):.2e}, scale {fp16['amp']['scale']}")
    assert 0 < max(gaps[k] for k in alphas) < 5e-2
    losses32, losses16 = ([e['losses']['l_pix'] for e in run['history']] for run in (fp32, fp16))
    assert losses32 and losses16 == pytest.approx(losses32, rel=2e-2)


def test_a_one_rank_torchrun_search_on_cuda_is_the_single_process_search(tmp_path, tiny_sr_data):
    opt = search_options(tiny_sr_data, 'nccl', TINY_DLSR, FIRST_ORDER, total_iter=4, iters_per_epoch=2)
    opt['num_gpu'] = 1
    path = write_options(opt, tmp_path / 'nccl.yml')
    out = run_module(['srnas', 'search', '-opt', str(path), '--root', str(tmp_path / 'ranked'), '--quiet'],
                     torchrun=1)
    run_module(['srnas', 'search', '-opt', str(path), '--root', str(tmp_path / 'single'), '--quiet'])
    assert 'genotype file:' in out
    got, expected = (torch.load(tmp_path / where / 'experiments' / 'nccl' / 'checkpoints' / 'epoch_00001.pth',
                                weights_only=False)['model'] for where in ('ranked', 'single'))
    gaps = [relative_gap(got[k], expected[k]) for k in expected if expected[k].is_floating_point()]
    print(f'one-rank torchrun vs single process on CUDA: worst gap {max(gaps):.2e}')
    assert max(gaps) < 1e-4  # cuDNN may pick other algorithms in another process: rounding only


def _sr_train(tmp_path, name, amp):
    gt, lq = random_pairs(tmp_path / 'train', 2, sizes=((16, 16),) * 4)
    vgt, vlq = random_pairs(tmp_path / 'val', 2, sizes=((16, 16),))
    opt = train_options(gt, lq, vgt, vlq, name=name, total_iter=6, model_type='SRNASModel')
    opt['num_gpu'] = 1
    opt['train']['amp'] = amp
    opt['val']['val_freq'] = 6
    opt['logger']['save_checkpoint_freq'] = 6
    path = write_yaml(tmp_path / f'{name}.yml', opt)
    run_module(['srnas', 'train', '-opt', str(path), '--root', str(tmp_path), '--launcher', 'pytorch'], torchrun=1)
    log = next((tmp_path / 'experiments' / name).glob(f'train_{name}_*.log')).read_text()
    return log, [float(x) for x in re.findall(r'l_pix: ([0-9.e+-]+)', log)]


def test_srnas_train_fp16_under_torchrun_follows_fp32(tmp_path):
    log32, fp32 = _sr_train(tmp_path, 'fp32', 'none')
    log16, fp16 = _sr_train(tmp_path, 'fp16', 'fp16')
    assert 'World size (gpu number): 1' in log16
    print(f'srnas train on CUDA, l_pix fp32 {fp32}, fp16 {fp16}')
    assert len(fp32) == 6 and fp16 == pytest.approx(fp32, rel=2e-2)
    state = torch.load(tmp_path / 'experiments' / 'fp16' / 'training_states' / '6.state', weights_only=False)
    assert state['grad_scaler']['scale'] > 0
    psnr32, psnr16 = (float(re.findall(r'# psnr: ([0-9.]+)', log)[-1]) for log in (log32, log16))
    assert psnr16 == pytest.approx(psnr32, abs=0.1)


NB201_CELL = '|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|'


def _classification_train(tmp_path, name, *overrides):
    out = run_module(['classification', 'train', '-opt', str(REPO / 'options' / 'classification' /
                                                               'demo_nb201_train_digits.yml'), '--force_yml',
                      f'genotype={NB201_CELL}', 'train:epochs=2', 'train:max_steps_per_epoch=4',
                      f'output_root={tmp_path / name}', *overrides], torchrun=1)
    lines = (tmp_path / name / 'demo_nb201_train_digits' / 'metrics.jsonl').read_text().splitlines()
    return out, [json.loads(line) for line in lines]


def test_classification_training_fp16_and_sync_bn_under_torchrun(tmp_path):
    out32, fp32 = _classification_train(tmp_path, 'fp32')
    out16, fp16 = _classification_train(tmp_path, 'fp16', 'train:amp=fp16', 'train:sync_bn=true')
    assert 'device cuda' in out16
    print('classification on CUDA, train loss fp32', [r['train_loss'] for r in fp32],
          'fp16', [r['train_loss'] for r in fp16])
    assert [r['epoch'] for r in fp16] == [0, 1]
    assert [r['train_loss'] for r in fp16] == pytest.approx([r['train_loss'] for r in fp32], rel=3e-2)


def test_classification_searches_on_cuda(tmp_path):
    for options in ('demo_nb201_search_digits.yml', 'demo_darts_search_digits.yml'):
        out = run_module(['classification', 'search', '-opt', str(REPO / 'options' / 'classification' / options),
                          '--force_yml', 'train:epochs=1', 'train:max_steps_per_epoch=3',
                          f'output_root={tmp_path}'])
        assert 'device cuda' in out
        genotype = json.loads((tmp_path / options[:-4] / 'genotype.json').read_text())
        assert genotype['space'] in ('nb201', 'darts')

