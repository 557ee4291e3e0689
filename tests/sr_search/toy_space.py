"""A whole SR search space in one module, as docs/extending.md walks through it.

Space ``toy``: a head conv, two searchable positions (each a mixed op over
``TOY_CANDIDATES``), a tail conv and a pixel shuffle. Importing this module
registers the supernet and the child with BasicSR (so ``network_g.type`` finds
them) and the space with srnas (so genotype files, ``srnas derive`` and
``srnas export`` know it). Nothing else in srnas is edited.
"""
import torch
from torch import nn

from srnas.basicsr_compat import import_basicsr
from srnas.nas import MixedOp, SupernetMixin, arch_softmax
from srnas.nas.genotype import derive_argmax
from srnas.nas.registry import SPACE_REGISTRY, SearchSpace
from srnas.spaces.genotypes import load_genotype, validate_genotype, validate_op_list

import_basicsr()
from basicsr.utils.registry import ARCH_REGISTRY  # noqa: E402

TOY_CANDIDATES = ('conv_1x1', 'conv_3x3', 'conv_5x5')
TOY_POSITIONS = 2


def toy_op(name, channels):
    size = int(name[-1])
    return nn.Conv2d(channels, channels, size, padding=size // 2)


class ToyNetwork(nn.Module):
    """Head, ``TOY_POSITIONS`` residual blocks given by ``block(i)``, tail, pixel shuffle."""

    def __init__(self, block, upscale, num_feat):
        super().__init__()
        self.head = nn.Conv2d(3, num_feat, 3, padding=1)
        self.blocks = nn.ModuleList([block(i) for i in range(TOY_POSITIONS)])
        self.tail = nn.Sequential(nn.Conv2d(num_feat, 3 * upscale ** 2, 3, padding=1), nn.PixelShuffle(upscale))

    def features(self, x, run_block):
        x = self.head(x)
        for i, block in enumerate(self.blocks):
            x = x + run_block(i, block, x)
        return self.tail(x)


@ARCH_REGISTRY.register()
class SRNASToySupernet(SupernetMixin, ToyNetwork):
    space = 'toy'

    def __init__(self, upscale=2, num_feat=8):
        super().__init__(lambda i: MixedOp([toy_op(n, num_feat) for n in TOY_CANDIDATES], names=TOY_CANDIDATES),
                         upscale, num_feat)
        self.register_arch_parameter('alpha', 1e-3 * torch.randn(TOY_POSITIONS, len(TOY_CANDIDATES)),
                                     op_names=TOY_CANDIDATES)

    def forward(self, x):
        weights = arch_softmax(self.alpha)
        return self.features(x, lambda i, block, h: block(h, weights[i]))

    def genotype(self):
        return validate_genotype({'space': 'toy', 'ops': derive_argmax(self.alpha, TOY_CANDIDATES)})


@ARCH_REGISTRY.register()
class SRNASToyChild(ToyNetwork):
    def __init__(self, genotype, upscale=2, num_feat=8):
        genotype = load_genotype(genotype, space='toy')
        super().__init__(lambda i: toy_op(genotype['ops'][i], num_feat), upscale, num_feat)
        self.genotype = genotype

    def forward(self, x):
        return self.features(x, lambda i, block, h: block(h))


SPACE_REGISTRY.register(SearchSpace(
    'toy', lambda genotype, source: validate_op_list(genotype, source, TOY_CANDIDATES, TOY_POSITIONS),
    child_type='SRNASToyChild', default_width=8))
