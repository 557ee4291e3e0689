"""``channels_last`` of the supernets (SR ``network_g``, classification ``space``): their memory format.

NHWC (channels_last) runs the depthwise, dilated and pooling kernels of the
candidates about twice as fast on CPU (docs/benchmarks.md); the numbers are the
NCHW ones up to float rounding. Off by default so existing results do not move.
"""
import torch
import torch.nn.functional as F

from srnas.nas.errors import NASConfigError


def memory_format(channels_last, option='network_g.channels_last'):
    """The ``torch.memory_format`` for a bool option; anything else is a config error naming ``option``."""
    if not isinstance(channels_last, bool):
        raise NASConfigError(f'{option} must be true or false, got {channels_last!r}')
    return torch.channels_last if channels_last else torch.contiguous_format


def channels_last_on_cpu(x: torch.Tensor) -> bool:
    """x is a 4-d channels_last CPU tensor that is not also NCHW-contiguous (the case where ATen's CPU kernels
    take their NHWC paths; the NHWC kernel choices of srnas.nas.lean_autograd are measured there only)."""
    return (x.device.type == 'cpu' and x.dim() == 4 and not x.is_contiguous()
            and x.is_contiguous(memory_format=torch.channels_last))


def padded_avg_pool_backward_is_right(device, avg_pool2d=F.avg_pool2d) -> bool:
    """Whether ``avg_pool2d``'s channels_last backward with padding gives the NCHW gradient on ``device``.

    pytorch/pytorch#188344: before PR #188345 (July 2026) the CUDA channels_last kernel mapped each input
    pixel to the pooling windows of its neighbour whenever padding > 0, silently. It is what made the
    channels_last DARTS / PC-DARTS / NB201 supernets' gradients 0.37 / 0.014 / 0.29 off on an H100 with
    torch 2.11 (benchmarks/cuda_avg_pool_bug.py re-enacts it on the CPU: 0.367 / 0.0141 / 0.287). Their
    ``avg_pool_3x3`` candidates pool with padding 1; a 2x2x5x5 float64 probe costs microseconds.
    """
    x = torch.arange(100, dtype=torch.float64, device=device).reshape(2, 2, 5, 5)
    grads = []
    with torch.enable_grad():
        for layout in (torch.contiguous_format, torch.channels_last):
            leaf = x.contiguous(memory_format=layout).requires_grad_()
            out = avg_pool2d(leaf, 3, 1, 1, False, False)
            weights = torch.arange(out.numel(), dtype=out.dtype, device=device).reshape(out.shape)
            grads.append(torch.autograd.grad(out, leaf, weights)[0])
    return bool(torch.allclose(grads[0], grads[1], rtol=1e-12, atol=1e-12))
