"""``torchrun --nproc_per_node 2 -m classification search|train`` on CPU (gloo): rank 0 alone writes, ranks agree.

The per-step equivalence with one process is tested on a BatchNorm-free toy
(tests/nas/test_distributed.py); these networks have BatchNorm, whose batch
statistics are per rank without SyncBatchNorm (CUDA only), so here the checks
are that the runs finish, write each file once and that the ranks agree on the
genotype (the loop raises when they do not).
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
OPTIONS = REPO / 'options' / 'classification'


def _torchrun(command, opt, *overrides):
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    done = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2',
                           '-m', 'classification', command, '-opt', str(opt), '--force_yml', *overrides],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow
def test_two_rank_search_then_training_on_cpu(tmp_path):
    out = _torchrun('search', OPTIONS / 'demo_nb201_search_digits.yml', 'train:epochs=2',
                    'train:max_steps_per_epoch=3', f'output_root={tmp_path}')
    folder = tmp_path / 'demo_nb201_search_digits'
    assert 'distributed: 2 processes' in out and out.count('epoch 2/2:') == 1  # rank 0 alone logs
    log = json.loads((folder / 'search_log.json').read_text())
    assert [e['epoch'] for e in log['epochs']] == [0, 1]
    assert (folder / 'log.txt').read_text().count('epoch 2/2:') == 1
    assert json.loads((folder / 'genotype.json').read_text())['space'] == 'nb201'

    out = _torchrun('train', OPTIONS / 'demo_nb201_train_digits.yml', f"genotype={folder / 'genotype.json'}",
                    'train:epochs=2', 'train:max_steps_per_epoch=3', f'output_root={tmp_path}')
    trained = tmp_path / 'demo_nb201_train_digits'
    assert out.count('final test top1') == 1
    lines = (trained / 'metrics.jsonl').read_text().splitlines()
    assert [json.loads(line)['epoch'] for line in lines] == [0, 1]
    assert (trained / 'model_final.pth').is_file()
