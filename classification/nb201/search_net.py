"""The NAS-Bench-201 DARTS supernet on the shared NAS core: one 6x5 alpha shared by all 15 cells."""
import torch
from torch import nn

from classification.nb201.arch import NUM_EDGES, to_str
from classification.nb201.tiny_network import build_skeleton, run_cell
from classification.ops import NB201_PRIMITIVES, nb201_op
from srnas.nas import (MixedOp, NASConfigError, SupernetMixin, arch_softmax, partial_channel_split,
                       set_lean_autograd)
from srnas.nas.genotype import derive_argmax
from srnas.nas.layout import memory_format


class NB201SearchCell(nn.Module):
    def __init__(self, channels, affine, track_running_stats, partial_k):
        super().__init__()
        c_k, _ = partial_channel_split(channels, channels, partial_k)
        self.edges = nn.ModuleList(
            MixedOp([nb201_op(name, c_k, affine=affine, track_running_stats=track_running_stats)
                     for name in NB201_PRIMITIVES], names=NB201_PRIMITIVES,
                    in_channels=channels, out_channels=channels, partial_k=partial_k)
            for _ in range(NUM_EDGES))

    def forward(self, x, weights):
        return run_cell(x, lambda k, h: self.edges[k](h, weights[k]))


def alpha_offsets(offsets):
    """``{op name: value}`` -> a length-5 tensor added to every edge's initial alpha (unnamed ops get 0).

    SA-DARTS Fig. 4 starts the search from a skip-dominant state: alpha = [0, 0.1, 0, 0, 0] on every edge,
    i.e. ``{skip_connect: 0.1}``.
    """
    offsets = offsets or {}
    if not isinstance(offsets, dict):
        raise NASConfigError(f'space.alpha_offset must be a mapping {{op name: value}}, got {offsets!r}')
    unknown = sorted(set(offsets) - set(NB201_PRIMITIVES))
    if unknown:
        raise NASConfigError(f'space.alpha_offset: unknown op(s) {unknown}; known: {list(NB201_PRIMITIVES)}')
    return torch.tensor([float(offsets.get(name, 0.0)) for name in NB201_PRIMITIVES])


class NB201SearchNetwork(SupernetMixin, nn.Module):
    """``forward(x) -> logits``; genotype = per-edge argmax over all 5 ops (``none`` included)."""

    def __init__(self, channels=16, cells_per_stage=5, num_classes=10, affine=False, track_running_stats=True,
                 partial_k=1, in_channels=3, alpha_init_scale=1e-3, alpha_offset=None, channels_last=False,
                 lean_autograd=True):
        super().__init__()
        layout = memory_format(channels_last, 'space.channels_last')
        build_skeleton(self, channels, cells_per_stage, num_classes, in_channels,
                       lambda c: NB201SearchCell(c, affine, track_running_stats, partial_k))
        init = alpha_init_scale * torch.randn(NUM_EDGES, len(NB201_PRIMITIVES)) + alpha_offsets(alpha_offset)
        self.register_arch_parameter('alphas', init,
                                     group='op', op_names=NB201_PRIMITIVES)
        # channels_last: NHWC activations and weights (faster CPU kernels, see DartsSearchNetwork).
        self.memory_format = layout
        self.to(memory_format=self.memory_format)
        set_lean_autograd(self, lean_autograd, 'space.lean_autograd')

    def forward(self, x):
        weights = arch_softmax(self.alphas)
        x = self.stem(x.contiguous(memory_format=self.memory_format))
        for cell in self.cells:
            x = cell(x, weights) if isinstance(cell, NB201SearchCell) else cell(x)
        return self.classifier(self.global_pooling(self.lastact(x)).flatten(1))

    @torch.no_grad()
    def genotype(self):
        """The official architecture string of the per-edge argmax."""
        return to_str(derive_argmax(self.alphas, NB201_PRIMITIVES))
