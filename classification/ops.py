"""Candidate operations shared by the DARTS and NAS-Bench-201 spaces.

The module structure (attribute names, ReLU -> Conv -> BN order) follows the
reference code of both spaces so that parameter counts and state-dict keys
match the published networks.
"""
import torch
from torch import nn


class _SequentialOp(nn.Module):
    """An op whose layers are the Sequential ``self.op`` (so state-dict keys read ``op.<i>`` as in the references)."""

    def forward(self, x):
        return self.op(x)

    def layer_chain(self):
        """The layers whose composition is forward (srnas.nas.MixedOp shares the leading ReLU, see lean_autograd)."""
        return tuple(self.op)


class ReLUConvBN(_SequentialOp):
    """ReLU -> Conv -> BN; the conv carries a bias only when BN has no affine (NB201 convention)."""

    def __init__(self, c_in, c_out, kernel_size, stride, padding, dilation=1, affine=True,
                 track_running_stats=True, conv_bias=False):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel_size, stride=stride, padding=padding, dilation=dilation, bias=conv_bias),
            nn.BatchNorm2d(c_out, affine=affine, track_running_stats=track_running_stats),
        )


class DilConv(_SequentialOp):
    """ReLU -> depthwise (dilated) conv -> pointwise conv -> BN."""

    def __init__(self, c_in, c_out, kernel_size, stride, padding, dilation, affine=True):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_in, kernel_size, stride=stride, padding=padding, dilation=dilation,
                      groups=c_in, bias=False),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out, affine=affine),
        )


class SepConv(_SequentialOp):
    """Two DilConv-style separable convs with dilation 1 (the first strides): ``op.0``..``op.7`` as in DARTS."""

    def __init__(self, c_in, c_out, kernel_size, stride, padding, affine=True):
        super().__init__()
        self.op = nn.Sequential(*DilConv(c_in, c_in, kernel_size, stride, padding, 1, affine).op,
                                *DilConv(c_in, c_out, kernel_size, 1, padding, 1, affine).op)


class Identity(nn.Module):
    def forward(self, x):
        return x


class Zero(nn.Module):
    """The `none` op: zeros of the output shape (still computed, so it keeps the graph and device)."""

    is_zero_op = True  # srnas.nas.MixedOp skips it: its term in the weighted sum is exactly 0

    def __init__(self, stride=1):
        super().__init__()
        self.stride = stride

    def forward(self, x):
        if self.stride == 1:
            return x.mul(0.)
        return x[:, :, ::self.stride, ::self.stride].mul(0.)


class FactorizedReduce(nn.Module):
    """Halve the resolution with two offset stride-2 1x1 convs, concatenated (used for skip on reduce edges)."""

    def __init__(self, c_in, c_out, affine=True):
        super().__init__()
        if c_out % 2:
            raise ValueError(f'FactorizedReduce needs an even number of output channels, got {c_out}')
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, padding=0, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, padding=0, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=affine)

    def forward(self, x):
        return self.bn(self._halves(self.relu(x)))

    def layer_chain(self):
        """ReLU, the two convs, BN: forward as a chain (srnas.nas.MixedOp shares the ReLU, see lean_autograd)."""
        return self.relu, self._halves, self.bn

    def _halves(self, x):
        # The second conv sees the input shifted by one pixel so both halves cover different positions.
        first, second = self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])
        if second.shape[-2:] != first.shape[-2:]:  # odd input sizes: zero-pad the shifted half
            second = nn.functional.pad(second, (0, first.shape[-1] - second.shape[-1],
                                                0, first.shape[-2] - second.shape[-2]))
        return torch.cat([first, second], dim=1)


# ---------------------------------------------------------------- DARTS space
DARTS_PRIMITIVES = ('none', 'max_pool_3x3', 'avg_pool_3x3', 'skip_connect',
                    'sep_conv_3x3', 'sep_conv_5x5', 'dil_conv_3x3', 'dil_conv_5x5')
# The A2M / SmoothDARTS "s5" space: the same list without `none`.
DARTS_PRIMITIVES_NO_NONE = DARTS_PRIMITIVES[1:]

DARTS_OPS = {
    'none': lambda c, stride, affine: Zero(stride),
    'avg_pool_3x3': lambda c, stride, affine: nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False),
    'max_pool_3x3': lambda c, stride, affine: nn.MaxPool2d(3, stride=stride, padding=1),
    'skip_connect': lambda c, stride, affine: Identity() if stride == 1 else FactorizedReduce(c, c, affine=affine),
    'sep_conv_3x3': lambda c, stride, affine: SepConv(c, c, 3, stride, 1, affine=affine),
    'sep_conv_5x5': lambda c, stride, affine: SepConv(c, c, 5, stride, 2, affine=affine),
    'sep_conv_7x7': lambda c, stride, affine: SepConv(c, c, 7, stride, 3, affine=affine),
    'dil_conv_3x3': lambda c, stride, affine: DilConv(c, c, 3, stride, 2, 2, affine=affine),
    'dil_conv_5x5': lambda c, stride, affine: DilConv(c, c, 5, stride, 4, 2, affine=affine),
}


def darts_op(name, channels, stride, affine=True):
    """Build one DARTS candidate; an unknown name is a clear error."""
    if name not in DARTS_OPS:
        raise ValueError(f"unknown DARTS op '{name}'; known: {', '.join(sorted(DARTS_OPS))}")
    return DARTS_OPS[name](channels, stride, affine)


def darts_search_candidate(name, channels, stride):
    """A candidate as the DARTS supernet builds it: affine-free BN, and a BN after pooling."""
    op = darts_op(name, channels, stride, affine=False)
    if 'pool' in name:
        op = nn.Sequential(op, nn.BatchNorm2d(channels, affine=False))
    return op


# ------------------------------------------------------------ NAS-Bench-201
NB201_PRIMITIVES = ('none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3')


def nb201_op(name, channels, affine=True, track_running_stats=True):
    """One NB201 candidate for a stride-1 cell edge with equal in/out channels."""
    if name in ('nor_conv_1x1', 'nor_conv_3x3'):
        k = int(name[-1])
        return ReLUConvBN(channels, channels, k, 1, k // 2, affine=affine, track_running_stats=track_running_stats,
                          conv_bias=not affine)
    ops = {'none': lambda: Zero(1), 'skip_connect': Identity,
           'avg_pool_3x3': lambda: nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)}
    if name not in ops:
        raise ValueError(f"unknown NAS-Bench-201 op '{name}'; known: {', '.join(NB201_PRIMITIVES)}")
    return ops[name]()


class ResNetBasicBlock(nn.Module):
    """The fixed stride-2 block between NB201 stages: two ReLUConvBN plus an avg-pool + 1x1 shortcut."""

    def __init__(self, c_in, c_out, stride=2, affine=True, track_running_stats=True):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride, 1, affine=affine, track_running_stats=track_running_stats)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1, affine=affine, track_running_stats=track_running_stats)
        self.downsample = nn.Sequential(nn.AvgPool2d(2, stride=2, padding=0),
                                        nn.Conv2d(c_in, c_out, 1, stride=1, padding=0, bias=False))

    def forward(self, x):
        return self.downsample(x) + self.conv_b(self.conv_a(x))
