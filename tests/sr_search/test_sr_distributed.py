"""``torchrun --nproc_per_node 2 -m srnas search`` on CPU (gloo): killed, resumed, and equal to one process.

Truth: the uninterrupted one-process search with the same global batch. The
DLSR supernet has no BatchNorm, and random crops and flips are off (each rank
draws its own augmentation), so splitting the batch is exact math; what is
left is float32 rounding of the sums (measured max |diff| 3e-8 over every
weight and alpha after 4 steps; tolerance 1e-6).
"""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.sr_search.sr_helpers import TINY_DLSR, search_options, write_options

REPO = Path(__file__).resolve().parents[2]
ARCHITECT = {'type': 'a2m', 'rho': 0.1, 'eps': 0.01, 'optimizer': {'type': 'adam', 'lr': 0.01, 'betas': [0.5, 0.999]},
             'regularizers': [{'type': 'sa'}]}


def _options(data, tmp_path, name, per_gpu):
    opt = search_options(data, 'ddp', TINY_DLSR, ARCHITECT, total_iter=6, iters_per_epoch=2)
    for split in ('train', 'train_arch'):  # full 32x32 LR images, no flips: the same pixels on any number of ranks
        opt['datasets'][split].update(gt_size=64, use_hflip=False, use_rot=False, batch_size_per_gpu=per_gpu)
    return write_options(opt, tmp_path / f'{name}.yml')


def _torchrun(opt, root, *extra):
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    return subprocess.Popen([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2',
                             '-m', 'srnas', 'search', '-opt', str(opt), '--root', str(root), '--quiet', '--threads', '1',
                             *extra], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True, env=env)


@pytest.mark.slow
def test_killed_two_rank_search_resumes_to_the_one_process_result(tmp_path, tiny_sr_data):
    from srnas.commands.search import run_sr_search
    reference = run_sr_search(_options(tiny_sr_data, tmp_path, 'one', 2), root=tmp_path / 'one', progress=False)

    opt = _options(tiny_sr_data, tmp_path, 'two', 1)  # 1 per rank x 2 ranks = the global batch 2
    root = tmp_path / 'two'
    checkpoints = root / 'experiments' / 'ddp' / 'checkpoints'
    proc = _torchrun(opt, root)
    deadline = time.time() + 300
    while not (checkpoints / 'epoch_00000.pth').exists():
        assert proc.poll() is None, proc.communicate()[0]
        assert time.time() < deadline, 'no checkpoint within 5 minutes'
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # torchrun and both ranks: the process group we started
    proc.wait()
    assert not (checkpoints / 'epoch_00002.pth').exists(), 'the search finished before the kill'

    resumed = _torchrun(opt, root, '--auto_resume')
    out = resumed.communicate(timeout=300)[0]
    assert resumed.returncode == 0, out
    assert out.count('genotype file:') == 1  # rank 0 alone reports
    final = torch.load(checkpoints / 'epoch_00002.pth', weights_only=False)
    expected = torch.load(tmp_path / 'one' / 'experiments' / 'ddp' / 'checkpoints' / 'epoch_00002.pth',
                          weights_only=False)
    for key, value in expected['model'].items():
        assert torch.allclose(final['model'][key], value, rtol=0, atol=1e-6), key
    assert [e['genotype'] for e in final['history']] == [e['genotype'] for e in reference['history']]
    assert len(final['history']) == 3
