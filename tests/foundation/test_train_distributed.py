"""``torchrun --nproc_per_node 2 -m srnas train --launcher pytorch`` on CPU (gloo) trains what one process trains.

Truth: the one-process run with the same global batch (BasicSR: ``batch_size_per_gpu`` x
processes). IMDN has no BatchNorm, and crops and flips are off (each rank draws its own
augmentation), so only the float32 rounding of the gradient sums differs (tolerance 1e-5).
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.foundation.helpers import random_pairs, train_options, write_yaml

REPO = Path(__file__).resolve().parents[2]


def _options(tmp_path, name, per_gpu):
    gt, lq = random_pairs(tmp_path / 'train', 2, sizes=((8, 8),) * 4)
    vgt, vlq = random_pairs(tmp_path / 'val', 2, sizes=((8, 8),))
    opt = train_options(gt, lq, vgt, vlq, name=name, total_iter=6)
    opt['datasets']['train'].update(use_hflip=False, use_rot=False, batch_size_per_gpu=per_gpu)  # gt_size 16: whole
    return write_yaml(tmp_path / f'{name}.yml', opt)


def _run(tmp_path, args, launcher=()):
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    done = subprocess.run([sys.executable, *launcher, '-m', 'srnas', 'train', *args, '--root', str(tmp_path)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


@pytest.mark.slow
def test_two_rank_cpu_training_matches_one_process(tmp_path):
    _run(tmp_path, ['-opt', str(_options(tmp_path, 'one', 2))])
    torchrun = ['-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2']
    _run(tmp_path, ['-opt', str(_options(tmp_path, 'two', 1)), '--launcher', 'pytorch'], torchrun)
    logs = {name: next((tmp_path / 'experiments' / name).glob(f'train_{name}_*.log')).read_text()
            for name in ('one', 'two')}
    assert 'World size (gpu number): 2' in logs['two'] and 'Network: DistributedDataParallel' in logs['two']
    # BasicSR logs rank 0's reduction of the loss over the ranks: the global batch's mean, iteration by iteration
    losses = {name: [float(x) for x in re.findall(r'l_pix: ([0-9.e+-]+)', log)] for name, log in logs.items()}
    assert len(losses['one']) == 6 and losses['two'] == pytest.approx(losses['one'], rel=1e-5)
    one = torch.load(tmp_path / 'experiments' / 'one' / 'models' / 'net_g_latest.pth', weights_only=False)['params']
    two = torch.load(tmp_path / 'experiments' / 'two' / 'models' / 'net_g_latest.pth', weights_only=False)['params']
    assert one.keys() == two.keys()
    moved = max(float((one[k] - two[k]).abs().max()) for k in one)
    assert moved < 1e-5


def test_launcher_pytorch_outside_torchrun_is_one_clear_error(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK')}
    env['OMP_NUM_THREADS'] = '1'
    done = subprocess.run([sys.executable, '-m', 'srnas', 'train', '-opt', str(_options(tmp_path, 'x', 1)),
                           '--launcher', 'pytorch', '--root', str(tmp_path)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert 'start srnas with torchrun' in done.stderr and 'Traceback' not in done.stderr
