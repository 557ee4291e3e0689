"""benchmarks/localise_gradient_error.py finds the layer whose forward or backward is wrong.

Truth: toy networks with one layer made wrong on purpose in the float32 run only (a backward that doubles
the gradient, a forward that adds 10 %), so the layer the tool must name is known; float32 against
float64 of the same network without the fault must report nothing.
"""
import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'benchmarks'))
from localise_gradient_error import localise  # noqa: E402


class _DoubledGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return 2 * grad


class WrongInFloat32(nn.Module):
    """Identity in float64; in float32 a wrong backward (``'backward'``) or a wrong forward (``'forward'``)."""

    def __init__(self, fault):
        super().__init__()
        self.fault = fault

    def forward(self, x):
        if x.dtype != torch.float32:
            return x.view_as(x)
        return _DoubledGradient.apply(x) if self.fault == 'backward' else 1.1 * x


def _toy(channels_last=False, fault=None):  # localise converts the layout itself
    torch.manual_seed(0)
    middle = WrongInFloat32(fault) if fault else nn.Identity()
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.Tanh(), middle, nn.Conv2d(4, 4, 3, padding=1),
                         nn.BatchNorm2d(4), nn.Tanh(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3))


def _inputs():
    gen = torch.Generator().manual_seed(1)
    return torch.randn(5, 3, 6, 6, generator=gen), torch.tensor([0, 1, 2, 0, 1])


def test_a_wrong_backward_is_located_between_the_two_outputs_around_it():
    report = localise(lambda cl: _toy(cl, 'backward'), _inputs(), F.cross_entropy)
    assert report.first_forward_off is None
    # the gradient of module 2's output is still right; module 2's backward doubles what reaches module 1's
    assert report.backward_off_between == ('1', '2')
    errors = {row.name: row.grad_error for row in report.rows}
    assert abs(errors['1'] - 1.0) < 1e-5 and errors['2'] < 1e-5


def test_a_wrong_forward_is_the_first_module_off():
    report = localise(lambda cl: _toy(cl, 'forward'), _inputs(), F.cross_entropy)
    assert report.first_forward_off == '2'
    assert abs(report.rows[2].forward_error - 0.1) < 1e-5


def test_float32_against_float64_alone_reports_nothing_in_either_layout():
    for channels_last in (False, True):
        report = localise(_toy, _inputs(), F.cross_entropy, channels_last=channels_last)
        assert report.first_forward_off is None and report.backward_off_between is None
        assert len(report.rows) == 8 and max(row.grad_error for row in report.rows if row.grad_error) < 1e-5
