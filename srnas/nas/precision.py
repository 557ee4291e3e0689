"""Mixed precision, one option for search, training and evaluation: ``amp: none | bf16 | fp16``.

* ``bf16``: ``torch.autocast`` with bfloat16 on CPU or CUDA (same exponent range as fp32: no loss scaling);
* ``fp16``: ``torch.autocast`` with float16 and a ``GradScaler`` (CUDA only: a clear error on CPU);
* ``none``: fp32, unchanged.

Parameters and optimizer states stay fp32; autocast runs matmuls and convolutions in the low
precision. The architect's finite differences are kept in fp32: second order perturbs the
weights by R = 0.01 / ||u|| in total (far below bf16's 2^-8 relative resolution per weight)
and A2M perturbs alpha by eps * g; under bf16 autocast both difference quotients are mostly
rounding (measured on the DLSR supernet: second-order direction 30 % off fp32, A2M's Hessian
term 29 % off; benchmarks/amp_directions.py). So a direction runs under autocast only when it
says so (``Direction.amp_safe``: first order, whose bf16 direction is 0.3 % off fp32 there),
and never under fp16, whose small alpha gradients would underflow without a scaler.
"""
import contextlib

import torch

from srnas.nas.errors import NASConfigError
from srnas.nas.numerics import grad_norm

AMP_DTYPES = {'none': None, 'bf16': torch.bfloat16, 'fp16': torch.float16}


def check_amp(mode, device, where: str = 'amp') -> str:
    """``mode`` if it is usable on ``device``; else one clear error naming ``where`` (the option)."""
    if mode not in AMP_DTYPES:
        raise NASConfigError(f'{where} must be one of {list(AMP_DTYPES)}, got {mode!r}')
    if mode == 'fp16' and torch.device(device).type != 'cuda':
        raise NASConfigError(f'{where}: fp16 needs CUDA (its GradScaler keeps small gradients from underflowing); '
                             'on CPU use bf16')
    return mode


def autocast(mode: str, device):
    """The autocast context of ``mode`` on ``device`` (a no-op for ``none``)."""
    dtype = AMP_DTYPES[mode]
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=dtype)


def direction_precision(direction, device):
    """Inside an architect direction: fp32 (autocast off) unless the direction is ``amp_safe`` under bf16."""
    kind = torch.device(device).type
    if not torch.is_autocast_enabled(kind):
        return contextlib.nullcontext()
    if getattr(direction, 'amp_safe', False) and torch.get_autocast_dtype(kind) == torch.bfloat16:
        return contextlib.nullcontext()
    return torch.autocast(kind, enabled=False)


class MixedPrecision:
    """The weight step of one ``amp`` mode: autocast forward, (scaled) backward, (unscaled) clip and step."""

    def __init__(self, mode: str, device, where: str = 'amp'):
        self.mode = check_amp(mode, device, where)
        self.device = torch.device(device)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=mode == 'fp16')

    def autocast(self):
        return autocast(self.mode, self.device)

    def backward(self, loss):
        self.scaler.scale(loss).backward()

    def step(self, optimizer, params=None, grad_clip=None):
        """Clip (after unscaling) and step; with fp16 a step whose gradients overflowed is skipped."""
        if grad_clip:
            self.unscale_and_clip(optimizer, params, grad_clip)
        self.apply(optimizer)

    def unscale_and_clip(self, optimizer, params, grad_clip=None) -> torch.Tensor:
        """Unscale the gradients (fp16) and clip them when ``grad_clip``; returns their global norm before clipping."""
        params = list(params)
        self.scaler.unscale_(optimizer)
        return torch.nn.utils.clip_grad_norm_(params, grad_clip) if grad_clip else grad_norm(params)

    def skip(self):
        """A step left out after ``unscale_and_clip``: the scaler still has to close its iteration."""
        if self.scaler.is_enabled():
            self.scaler.update()

    def apply(self, optimizer):
        """The optimizer step (fp16: skipped by the scaler when the gradients overflowed) and the scale update."""
        self.scaler.step(optimizer)
        self.scaler.update()

    def state_dict(self):
        return self.scaler.state_dict()

    def load_state_dict(self, state):
        if state:  # a disabled scaler saves {}: nothing to restore
            self.scaler.load_state_dict(state)
