"""benchmarks/compile_probe.py: the gradient gap it reports is relative to each reference gradient's scale."""
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'benchmarks'))
import compile_probe  # noqa: E402


def test_largest_gradient_gap_is_the_worst_relative_difference():
    reference = [torch.tensor([2.0, -4.0]), torch.tensor([0.5]), torch.zeros(2)]
    grads = [torch.tensor([2.0, -3.0]), torch.tensor([0.5]), torch.zeros(2)]  # 1 off on a scale of 4: 0.25
    assert compile_probe.largest_gradient_gap(grads, reference) == pytest.approx(0.25)
    grads[2] = torch.tensor([0.0, 1e-3])  # a zero reference gradient: the absolute value counts
    assert compile_probe.largest_gradient_gap(grads, reference) == pytest.approx(0.25)
    grads[2] = torch.tensor([0.0, 0.5])
    assert compile_probe.largest_gradient_gap(grads, reference) == pytest.approx(0.5)
