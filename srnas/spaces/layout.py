"""``network_g.channels_last`` of the SR supernets: the memory format of their weights and activations.

NHWC (channels_last) runs the depthwise, dilated and pooling kernels of the
candidates about twice as fast on CPU (docs/benchmarks.md); the numbers are the
NCHW ones up to float rounding. Off by default so existing results do not move.
"""
import torch

from srnas.nas.errors import NASConfigError


def memory_format(channels_last):
    """The ``torch.memory_format`` for the option's value (a bool; anything else is a config error)."""
    if not isinstance(channels_last, bool):
        raise NASConfigError(f'network_g.channels_last must be true or false, got {channels_last!r}')
    return torch.channels_last if channels_last else torch.contiguous_format
