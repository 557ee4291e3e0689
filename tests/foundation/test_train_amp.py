"""``train.amp`` in ``srnas train`` (SRNASModel): bf16 autocast on CPU follows the fp32 run; fp16 on CPU is refused."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.foundation.helpers import random_pairs, train_options, write_yaml

REPO = Path(__file__).resolve().parents[2]


def _train(tmp_path, name, amp):
    gt, lq = random_pairs(tmp_path / 'train', 2, sizes=((8, 8),) * 2)
    vgt, vlq = random_pairs(tmp_path / 'val', 2, sizes=((8, 8),))
    opt = train_options(gt, lq, vgt, vlq, name=name, total_iter=4, model_type='SRNASModel')
    opt['train']['amp'] = amp
    opt['val']['val_freq'] = 4
    path = write_yaml(tmp_path / f'{name}.yml', opt)
    return subprocess.run([sys.executable, '-m', 'srnas', 'train', '-opt', str(path), '--root', str(tmp_path)],
                          cwd=REPO, env=dict(os.environ, OMP_NUM_THREADS='1'), capture_output=True, text=True,
                          timeout=300)


def _logged(tmp_path, name, key):
    log = next((tmp_path / 'experiments' / name).glob(f'train_{name}_*.log')).read_text()
    return [float(x) for x in re.findall(rf'{key}: ([0-9.e+-]+)', log)]


@pytest.mark.slow
def test_bf16_training_and_validation_follow_fp32(tmp_path):
    for name, amp in (('fp32', 'none'), ('bf16', 'bf16')):
        done = _train(tmp_path, name, amp)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    fp32, bf16 = _logged(tmp_path, 'fp32', 'l_pix'), _logged(tmp_path, 'bf16', 'l_pix')
    assert len(fp32) == 4 and bf16 == pytest.approx(fp32, rel=2e-2) and bf16 != fp32
    psnr32, psnr16 = _logged(tmp_path, 'fp32', '# psnr'), _logged(tmp_path, 'bf16', '# psnr')
    assert psnr32 and psnr16 == pytest.approx(psnr32, abs=0.1)


def test_fp16_on_cpu_is_one_clear_error(tmp_path):
    done = _train(tmp_path, 'fp16', 'fp16')
    assert done.returncode == 2
    assert 'train.amp: fp16 needs CUDA' in done.stderr and 'Traceback' not in done.stderr
