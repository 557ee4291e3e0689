"""The DARTS search supernet (8 cells, C=16) on the shared NAS core.

Each of the 14 edges of a cell is a ``srnas.nas.MixedOp`` over the candidate
list (8 DARTS ops, or the 7-op list without ``none`` of the A2M code).
Options: partial channels (PC-DARTS, K divides C), edge normalisation
(PC-DARTS betas: per node, softmax over its incoming edges) and
``channels_last`` (NHWC activations and weights: on CPU the depthwise,
dilated and pooling kernels are about 1.6x faster that way, see
docs/benchmarks.md; same numbers to float rounding).
"""
import torch
from torch import nn

from classification.darts.eval_net import build_cells
from classification.darts.genotypes import NUM_NODES, Genotype
from classification.ops import DARTS_PRIMITIVES, FactorizedReduce, ReLUConvBN, darts_search_candidate
from srnas.nas import (MixedOp, NASConfigError, SupernetMixin, arch_softmax, partial_channel_split,
                       set_lean_autograd)
from srnas.nas.genotype import darts_cell_edges, derive_top_k_edges
from srnas.nas.layout import memory_format

NUM_EDGES = sum(2 + i for i in range(NUM_NODES))  # 14


def node_edge_slices():
    """(start, stop) of each intermediate node's incoming edges in the 14-edge list."""
    slices, start = [], 0
    for i in range(NUM_NODES):
        slices.append((start, start + 2 + i))
        start += 2 + i
    return slices


class SearchCell(nn.Module):
    multiplier = NUM_NODES  # the output concatenates the 4 intermediate nodes

    def __init__(self, primitives, c_prev_prev, c_prev, c, reduction, reduction_prev, partial_k):
        super().__init__()
        self.reduction = reduction
        self.preprocess0 = (FactorizedReduce(c_prev_prev, c, affine=False) if reduction_prev
                            else ReLUConvBN(c_prev_prev, c, 1, 1, 0, affine=False))
        self.preprocess1 = ReLUConvBN(c_prev, c, 1, 1, 0, affine=False)
        c_k, _ = partial_channel_split(c, c, partial_k)
        self._ops = nn.ModuleList()
        for start, stop in node_edge_slices():
            for j in range(stop - start):
                stride = 2 if reduction and j < 2 else 1
                self._ops.append(MixedOp([darts_search_candidate(name, c_k, stride) for name in primitives],
                                         names=primitives, in_channels=c, out_channels=c,
                                         partial_k=partial_k, stride=stride))

    def forward(self, s0, s1, op_weights, edge_weights=None):
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for node, (start, stop) in enumerate(node_edge_slices()):
            total = 0
            for j, k in enumerate(range(start, stop)):
                out = self._ops[k](states[j], op_weights[k])
                total = total + (out if edge_weights is None else edge_weights[node][j] * out)
            states.append(total)
        return torch.cat(states[2:], dim=1)


class DartsSearchNetwork(SupernetMixin, nn.Module):
    """``forward(x) -> logits``; alphas ``alphas_normal``/``alphas_reduce`` (14 x ops), optional ``betas_*``."""

    def __init__(self, channels=16, num_classes=10, layers=8, primitives=DARTS_PRIMITIVES, partial_k=1,
                 edge_normalization=False, in_channels=3, stem_multiplier=3, alpha_init_scale=1e-3,
                 channels_last=False, lean_autograd=True):
        super().__init__()
        primitives = tuple(primitives)
        unknown = [p for p in primitives if p not in DARTS_PRIMITIVES]
        if unknown or len(set(primitives)) != len(primitives) or len(primitives) < 2:
            raise NASConfigError(f'space.primitives: {list(primitives)} must be distinct DARTS ops '
                                 f'from {list(DARTS_PRIMITIVES)} (unknown: {unknown})')
        layout = memory_format(channels_last, 'space.channels_last')
        if layers < 3:
            raise NASConfigError(f'space.layers must be >= 3 (two reduction cells), got {layers}')
        self.primitives = primitives
        self.partial_k = partial_k
        self.edge_normalization = edge_normalization
        c_stem = stem_multiplier * channels
        self.stem = nn.Sequential(nn.Conv2d(in_channels, c_stem, 3, padding=1, bias=False), nn.BatchNorm2d(c_stem))
        self.cells, c_prev, _ = build_cells(lambda *shape: SearchCell(primitives, *shape, partial_k), c_stem, c_stem,
                                            channels, layers, reduction_prev=False)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)
        for cell_type in ('normal', 'reduce'):
            self.register_arch_parameter(f'alphas_{cell_type}',
                                         alpha_init_scale * torch.randn(NUM_EDGES, len(primitives)),
                                         group='op', op_names=primitives)
            if edge_normalization:
                self.register_arch_parameter(f'betas_{cell_type}', alpha_init_scale * torch.randn(NUM_EDGES),
                                             group='edge')
        self.memory_format = layout
        self.to(memory_format=self.memory_format)
        set_lean_autograd(self, lean_autograd, 'space.lean_autograd')

    def _edge_weights(self, cell_type):
        if not self.edge_normalization:
            return None
        betas = getattr(self, f'betas_{cell_type}')
        return [arch_softmax(betas[start:stop]) for start, stop in node_edge_slices()]

    def forward(self, x):
        weights = {t: arch_softmax(getattr(self, f'alphas_{t}')) for t in ('normal', 'reduce')}
        edges = {t: self._edge_weights(t) for t in ('normal', 'reduce')}
        s0 = s1 = self.stem(x.contiguous(memory_format=self.memory_format))
        for cell in self.cells:
            t = 'reduce' if cell.reduction else 'normal'
            s0, s1 = s1, cell(s0, s1, weights[t], edges[t])
        return self.classifier(self.global_pooling(s1).flatten(1))

    @torch.no_grad()
    def genotype(self):
        """DARTS parse via the core: per node the 2 strongest incoming edges by their best non-``none``
        weight (times softmax(beta) of the node with edge normalisation), each with that op."""
        def derive(cell_type):
            edge_w = self._edge_weights(cell_type)
            return derive_top_k_edges(getattr(self, f'alphas_{cell_type}'), self.primitives,
                                      darts_cell_edges(NUM_NODES), k=2,
                                      edge_weights=None if edge_w is None else torch.cat(edge_w))

        concat = list(range(2, 2 + NUM_NODES))
        return Genotype(normal=derive('normal'), normal_concat=concat, reduce=derive('reduce'), reduce_concat=concat)
