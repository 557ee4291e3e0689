"""``channels_last`` of the supernets (SR ``network_g``, classification ``space``): their memory format.

NHWC (channels_last) runs the depthwise, dilated and pooling kernels of the
candidates about twice as fast on CPU (docs/benchmarks.md); the numbers are the
NCHW ones up to float rounding. Off by default so existing results do not move.
"""
import torch

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
