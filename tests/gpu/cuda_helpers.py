"""What the CUDA tests share: the skip where no CUDA device is (CI has none), strict fp32 on the GPU."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device (run on a GPU machine)')


@pytest.fixture(autouse=True)
def strict_fp32():
    """TF32 off: CUDA convolutions and matmuls then round like the CPU's fp32 ones (comparisons against CPU)."""
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def relative_gap(got, expected):
    """max |got - expected| over the largest |expected| entry (one number per tensor pair, its worst)."""
    return float((got.double() - expected.double()).abs().max() / expected.double().abs().max().clamp_min(1e-30))


def gradient_gaps(got, expected, floor=1e-6):
    """Per gradient: max |got - expected| over (its largest |expected| entry + ``floor`` x the largest entry of
    all gradients). The floor keeps gradients that are 0 in exact arithmetic (a conv bias before batch norm:
    ~1e-17 of rounding in float64, measured CPU-vs-CUDA differences ~5e-16) from reading as a 100 % gap."""
    scale = max(float(e.double().abs().max()) for e in expected)
    return [float((g.double().cpu() - e.double().cpu()).abs().max()) / (float(e.double().abs().max()) + floor * scale)
            for g, e in zip(got, expected)]


def run_module(args, timeout=600, torchrun=None):
    """``python [-m torch.distributed.run --standalone --nproc_per_node N] -m <args>`` from the repository root."""
    launcher = ['-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', str(torchrun)] if torchrun else []
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    done = subprocess.run([sys.executable, *launcher, '-m', *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout + done.stderr
