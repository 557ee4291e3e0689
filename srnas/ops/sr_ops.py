"""Candidate operations of the two SR search spaces (DLSR and IMDN).

All candidates keep the spatial size (stride 1, "same" padding) because they
run on the LR feature grid inside residual/distillation blocks.

DLSR (Huang et al. 2021, reference code ``operations_hh.py``): 9 candidates,
bias-free, no BN; separable ops are the DARTS two-stage kind and, like the
dilated ops, start with a ReLU. Plain convs carry no activation.

IMDN space (SA-DARTS §4.4): 12 candidates {conv, sep, dilated sep} x {3x3, 5x5}
x {no BN, BN}. Separable convs here are ONE-stage (depthwise k x k on cin,
then pointwise 1x1 cin -> cout): it is the only reading under which the
SA-DARTS IMDN figures hold (all-sep3x3 IMDN = 39.61 G conv MACs at x2), and
the only one that keeps "replace IMDN's conv3x3" a drop-in (one conv, no
extra activation inside). IMDN applies its LeakyReLU outside c1..c3, so these
candidates have no activation of their own. Every candidate keeps IMDN's bias on
its last conv, BN candidates included: SA-DARTS's counts need it (all conv5x5
with BN at c1/c3/c4 and conv5x5 at c2 = 1,773,672 params at x4, Table 3's
"IMDN + Beta-DARTS" 1,773.67 K), although BN's shift makes it redundant.
"""
import torch.nn as nn

DLSR_CANDIDATES = (
    'conv_1x1', 'conv_3x3', 'conv_5x5', 'conv_7x7',
    'sep_conv_3x3', 'sep_conv_5x5', 'sep_conv_7x7',
    'dil_conv_3x3', 'dil_conv_5x5',
)

IMDN_CANDIDATES = (
    'conv_3x3', 'conv_3x3_bn', 'conv_5x5', 'conv_5x5_bn',
    'sep_conv_3x3', 'sep_conv_3x3_bn', 'sep_conv_5x5', 'sep_conv_5x5_bn',
    'dil_sep_conv_3x3', 'dil_sep_conv_3x3_bn', 'dil_sep_conv_5x5', 'dil_sep_conv_5x5_bn',
)


class UnknownOpError(ValueError):
    """A genotype or option names an operation that the space does not have."""


def _kind_and_kernel(name, candidates, space):
    """``('sep_conv', 3)`` for ``sep_conv_3x3`` (a ``_bn`` suffix stripped); UnknownOpError for other names."""
    if name not in candidates:
        raise UnknownOpError(f"unknown {space} operation '{name}'; known: {', '.join(candidates)}")
    kind, kernel = name.removesuffix('_bn').rsplit('_', 1)
    return kind, int(kernel.split('x')[0])


def _depthwise(channels, kernel, dilation=1):
    return nn.Conv2d(channels, channels, kernel, padding=dilation * (kernel - 1) // 2,
                     dilation=dilation, groups=channels, bias=False)


def build_dlsr_op(name, channels):
    """One DLSR candidate mapping ``channels`` -> ``channels``."""
    kind, kernel = _kind_and_kernel(name, DLSR_CANDIDATES, 'DLSR')
    c = channels
    if kind == 'conv':
        return nn.Conv2d(c, c, kernel, padding=kernel // 2, bias=False)
    if kind == 'sep_conv':  # DARTS-style: the (ReLU, dw, pw) stage twice
        return nn.Sequential(
            nn.ReLU(inplace=False), _depthwise(c, kernel), nn.Conv2d(c, c, 1, bias=False),
            nn.ReLU(inplace=False), _depthwise(c, kernel), nn.Conv2d(c, c, 1, bias=False))
    # dil_conv: one (ReLU, dilated dw, pw) stage with dilation 2
    return nn.Sequential(nn.ReLU(inplace=False), _depthwise(c, kernel, dilation=2),
                         nn.Conv2d(c, c, 1, bias=False))


def build_imdn_op(name, in_channels, out_channels, bn_affine=True):
    """One IMDN-space candidate mapping ``in_channels`` -> ``out_channels``.

    ``bn_affine=False`` gives the parameter-free BN that DARTS uses while
    searching; derived children use affine BN.
    """
    kind, kernel = _kind_and_kernel(name, IMDN_CANDIDATES, 'IMDN')
    layers = []
    if kind == 'conv':
        layers.append(nn.Conv2d(in_channels, out_channels, kernel, padding=kernel // 2, bias=True))
    else:
        dilation = 2 if kind == 'dil_sep_conv' else 1
        layers.append(_depthwise(in_channels, kernel, dilation))
        layers.append(nn.Conv2d(in_channels, out_channels, 1, bias=True))
    if name.endswith('_bn'):
        layers.append(nn.BatchNorm2d(out_channels, affine=bn_affine))
    return layers[0] if len(layers) == 1 else nn.Sequential(*layers)


def conv_macs(module, height, width):
    """Multiply-accumulates of every Conv2d in ``module`` on an ``height x width`` grid.

    Valid for the candidates above (stride 1, same padding, so every conv
    outputs ``height x width``); bias, BN and activations are not counted.
    """
    total = 0
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d):
            if layer.stride != (1, 1):
                raise ValueError('conv_macs expects stride-1 convolutions')
            kh, kw = layer.kernel_size
            total += layer.out_channels * (layer.in_channels // layer.groups) * kh * kw * height * width
    return total
