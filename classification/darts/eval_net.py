"""DARTS evaluation networks built from a Genotype: CIFAR (20 cells, C=36) and ImageNet mobile (14 cells, C=48)."""
import torch
from torch import nn

from classification.darts.genotypes import validate
from classification.ops import FactorizedReduce, Identity, ReLUConvBN, darts_op


def drop_path(x, drop_prob):
    """Zero whole samples of a branch with probability ``drop_prob`` and rescale the rest."""
    if drop_prob <= 0.:
        return x
    keep = 1. - drop_prob
    mask = torch.empty(x.size(0), 1, 1, 1, device=x.device, dtype=x.dtype).bernoulli_(keep)
    return x / keep * mask


class EvalCell(nn.Module):
    def __init__(self, genotype, c_prev_prev, c_prev, c, reduction, reduction_prev):
        super().__init__()
        self.reduction = reduction
        self.preprocess0 = (FactorizedReduce(c_prev_prev, c) if reduction_prev
                            else ReLUConvBN(c_prev_prev, c, 1, 1, 0))
        self.preprocess1 = ReLUConvBN(c_prev, c, 1, 1, 0)
        edges = genotype.reduce if reduction else genotype.normal
        self.concat = list(genotype.reduce_concat if reduction else genotype.normal_concat)
        self.multiplier = len(self.concat)
        self.indices = [index for _, index in edges]
        # Only edges leaving the two cell inputs stride in a reduction cell.
        self._ops = nn.ModuleList(
            darts_op(name, c, 2 if reduction and index < 2 else 1) for name, index in edges)

    def forward(self, s0, s1, drop_prob):
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for node in range(len(self._ops) // 2):
            total = 0
            for k in (2 * node, 2 * node + 1):
                op = self._ops[k]
                h = op(states[self.indices[k]])
                if self.training and drop_prob > 0 and not isinstance(op, Identity):
                    h = drop_path(h, drop_prob)
                total = total + h
            states.append(total)
        return torch.cat([states[i] for i in self.concat], dim=1)


def build_cells(make_cell, c_pp, c_prev, c, layers, reduction_prev):
    """The DARTS macro layout: ``layers`` cells, reductions (channels doubled) at layers//3 and 2*layers//3.

    ``make_cell(c_prev_prev, c_prev, c, reduction, reduction_prev)`` builds one cell (with a ``multiplier``:
    its output is ``multiplier * c`` channels). Returns (cells, output channels, channels after the second
    reduction, where the auxiliary head sits).
    """
    cells, c_aux = nn.ModuleList(), None
    for i in range(layers):
        reduction = i in (layers // 3, 2 * layers // 3)
        c = c * 2 if reduction else c
        cells.append(make_cell(c_pp, c_prev, c, reduction, reduction_prev))
        reduction_prev = reduction
        c_pp, c_prev = c_prev, cells[-1].multiplier * c
        if i == 2 * layers // 3:
            c_aux = c_prev
    return cells, c_prev, c_aux


class AuxiliaryHead(nn.Module):
    """Auxiliary classifier after the second reduction. CIFAR: 8x8 map, pool stride 3; ImageNet: 14x14 map,
    pool stride 2 and no BN after the 2x2 conv, as in the published models."""

    def __init__(self, c, num_classes, pool_stride=3, bn_after_conv=True):
        super().__init__()
        self.features = nn.Sequential(
            nn.ReLU(inplace=True),
            nn.AvgPool2d(5, stride=pool_stride, padding=0, count_include_pad=False),
            nn.Conv2d(c, 128, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(inplace=True),
            nn.Conv2d(128, 768, 2, bias=False), *([nn.BatchNorm2d(768)] if bn_after_conv else []), nn.ReLU(inplace=True))
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x):
        if min(x.shape[-2:]) < 5:
            raise ValueError(f'the auxiliary head needs feature maps of at least 5x5 after the second '
                             f'reduction, got {tuple(x.shape[-2:])}; set space.auxiliary: false')
        return self.classifier(self.features(x).flatten(1))


class _EvalNetwork(nn.Module):
    """Cells with reductions at layers//3 and 2*layers//3, then the classifier; subclasses build the stem first."""

    def _build_cells(self, genotype, c_pp, c_prev, c, layers, reduction_prev, drop_path_prob, num_classes, aux):
        genotype = validate(genotype)
        self._layers, self.drop_path_prob = layers, drop_path_prob
        self.cells, c_prev, c_aux = build_cells(lambda *shape: EvalCell(genotype, *shape), c_pp, c_prev, c, layers,
                                                reduction_prev)
        # ``aux``: the AuxiliaryHead's (pool_stride, bn_after_conv), or None without the head
        self.auxiliary_head = AuxiliaryHead(c_aux, num_classes, *aux) if aux else None
        # Adaptive pooling equals the published 7x7 average pool at 224x224 and also works on smaller inputs.
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def _run_cells(self, s0, s1):
        """``(logits, logits_aux)``; aux is None outside training."""
        logits_aux = None
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, self.drop_path_prob)
            if i == 2 * self._layers // 3 and self.auxiliary_head is not None and self.training:
                logits_aux = self.auxiliary_head(s1)
        return self.classifier(self.global_pooling(s1).flatten(1)), logits_aux


class NetworkCIFAR(_EvalNetwork):
    """DARTS CIFAR network; ``forward`` returns ``(logits, logits_aux)`` (aux is None outside training)."""

    def __init__(self, genotype, channels=36, num_classes=10, layers=20, auxiliary=True, drop_path_prob=0.0,
                 in_channels=3, stem_multiplier=3):
        super().__init__()
        c_stem = stem_multiplier * channels
        self.stem = nn.Sequential(nn.Conv2d(in_channels, c_stem, 3, padding=1, bias=False), nn.BatchNorm2d(c_stem))
        self._build_cells(genotype, c_stem, c_stem, channels, layers, False, drop_path_prob, num_classes,
                          (3, True) if auxiliary else None)

    def forward(self, x):
        s = self.stem(x)
        return self._run_cells(s, s)


class NetworkImageNet(_EvalNetwork):
    """DARTS ImageNet (mobile setting) network for 224x224 inputs: two stride-2 stems, then the cells."""

    def __init__(self, genotype, channels=48, num_classes=1000, layers=14, auxiliary=True, drop_path_prob=0.0,
                 in_channels=3):
        super().__init__()
        self.stem0 = nn.Sequential(
            nn.Conv2d(in_channels, channels // 2, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(channels // 2), nn.ReLU(inplace=True),
            nn.Conv2d(channels // 2, channels, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(channels))
        self.stem1 = nn.Sequential(
            nn.ReLU(inplace=True), nn.Conv2d(channels, channels, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(channels))
        self._build_cells(genotype, channels, channels, channels, layers, True, drop_path_prob, num_classes,
                          (2, False) if auxiliary else None)

    def forward(self, x):
        s0 = self.stem0(x)
        return self._run_cells(s0, self.stem1(s0))


def count_parameters(module, exclude_prefixes=('auxiliary_head',)):
    """Number of parameters, leaving out the auxiliary head as the papers report it."""
    return sum(p.numel() for name, p in module.named_parameters()
               if not any(name.startswith(prefix) for prefix in exclude_prefixes))
