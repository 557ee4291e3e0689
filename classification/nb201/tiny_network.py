"""The NAS-Bench-201 evaluation network (TinyNetwork, C=16, N=5) for an architecture string.

Module and attribute names follow the benchmark's published models so their
state dicts load with ``strict=True`` (``stem``, ``cells.{c}.layers.{edge}``,
``lastact``, ``classifier``).
"""
from torch import nn

from classification.nb201.arch import EDGES, NUM_NODES, parse
from classification.ops import ResNetBasicBlock, nb201_op


class InferCell(nn.Module):
    """One fixed cell: node i = sum of op(node j) over its incoming edges; the output is node 3."""

    def __init__(self, arch_str, channels):
        super().__init__()
        self.arch_str = arch_str
        self.layers = nn.ModuleList(nb201_op(name, channels) for name in parse(arch_str))

    def forward(self, x):
        return run_cell(x, lambda k, h: self.layers[k](h))


def run_cell(x, edge):
    """A cell's forward: node i = sum over its incoming edges k (from node j) of ``edge(k, node j)``; node 3 out."""
    nodes = [x]
    for i in range(1, NUM_NODES):
        nodes.append(sum(edge(k, nodes[j]) for k, (to, j) in enumerate(EDGES) if to == i))
    return nodes[-1]


def stage_layout(channels, cells_per_stage):
    """Channels and reduction flags of the 3 stages joined by 2 stride-2 residual blocks."""
    c_list = [channels] * cells_per_stage + [channels * 2] + [channels * 2] * cells_per_stage \
        + [channels * 4] + [channels * 4] * cells_per_stage
    reductions = [False] * cells_per_stage + [True] + [False] * cells_per_stage + [True] \
        + [False] * cells_per_stage
    return c_list, reductions


def build_skeleton(net, channels, cells_per_stage, num_classes, in_channels, make_cell):
    """Give ``net`` the NB201 macro skeleton (stem, cells, lastact, pooling, classifier); ``make_cell(c)``: a cell."""
    net.stem = nn.Sequential(nn.Conv2d(in_channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels))
    c_list, reductions = stage_layout(channels, cells_per_stage)
    cells, c_prev = [], channels
    for c, reduction in zip(c_list, reductions):
        cells.append(ResNetBasicBlock(c_prev, c, 2) if reduction else make_cell(c))
        c_prev = c
    net.cells = nn.ModuleList(cells)
    net.lastact = nn.Sequential(nn.BatchNorm2d(c_prev), nn.ReLU(inplace=True))
    net.global_pooling = nn.AdaptiveAvgPool2d(1)
    net.classifier = nn.Linear(c_prev, num_classes)


class TinyNetwork(nn.Module):
    """``forward`` returns ``(features, logits)`` like the benchmark's model."""

    def __init__(self, arch_str, channels=16, cells_per_stage=5, num_classes=10, in_channels=3):
        super().__init__()
        self.arch_str = arch_str
        build_skeleton(self, channels, cells_per_stage, num_classes, in_channels, lambda c: InferCell(arch_str, c))

    def forward(self, x):
        x = self.stem(x)
        for cell in self.cells:
            x = cell(x)
        features = self.global_pooling(self.lastact(x)).flatten(1)
        return features, self.classifier(features)


def closed_form_params(arch_str, num_classes):
    """Published closed form for C=16, N=5: 72656 + 65 K + 243040 n3x3 + 28000 n1x1."""
    ops = parse(arch_str)
    return 72656 + 65 * num_classes + 243040 * ops.count('nor_conv_3x3') + 28000 * ops.count('nor_conv_1x1')
