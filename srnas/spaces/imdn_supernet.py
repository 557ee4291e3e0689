"""IMDN-space supernet: c1..c4 of every IMD block are mixed ops over 12 candidates.

One alpha (4 x 12) is shared by the 6 blocks: row p drives position c{p+1}
in every block. The foundation's IMD block calls ``c1(x)`` without weights,
so each mixed op is wrapped in a module that reads its row of the current
softmax(alpha) from a holder the supernet fills at the start of ``forward``.
BN candidates use affine-free BN while searching (DARTS convention); the
derived child uses affine BN.

Partial channels (SAC, ``partial_k = K``) at positions whose input and output
widths differ (c2/c3 48 -> 64, c4 48 -> 16) are srnas's own construction: the
papers apply partial channels only to cin == cout ops, and here the bypass is
resampled parameter-free to the output width (``srnas.nas.mixed_op``). At c4
three quarters of the output are then averages of input channels, where the
child has a full 48 -> 16 conv. ``full_channel_positions: [c4]`` searches those
positions at full width instead (benchmarks/partial_channel_gap.py measures the
difference). ``channels_last=True`` keeps weights and activations NHWC
(``srnas.nas.layout``).
"""
from types import SimpleNamespace

import torch
import torch.nn as nn

from srnas.spaces.imdn_network import CONV_POSITIONS, IMDNNetwork
from srnas.nas import MixedOp, SupernetMixin, arch_softmax, partial_channel_split, set_lean_autograd
from srnas.nas.genotype import derive_argmax
from srnas.ops.sr_ops import IMDN_CANDIDATES, build_imdn_op
from srnas.spaces.costs import imdn_cost_table
from srnas.spaces.genotypes import validate_genotype
from srnas.nas.layout import memory_format

ALPHA_INIT_SCALE = 1e-3


class SharedAlphaOp(nn.Module):
    """A MixedOp called like a plain conv: weights come from row ``row`` of the shared holder."""

    def __init__(self, mixed_op, holder, row):
        super().__init__()
        self.mixed = mixed_op
        self.row = row
        self._holder = holder

    def forward(self, x):
        if self._holder.weights is None:
            raise RuntimeError('SharedAlphaOp used outside its supernet forward')
        return self.mixed(x, self._holder.weights[self.row])


class IMDNSupernet(SupernetMixin, IMDNNetwork):
    """The IMDN search network; ``partial_k > 1`` gives SAC-IMDN."""

    space = 'imdn'

    def __init__(self, upscale=2, num_in_ch=3, num_feat=64, num_blocks=6, partial_k=1, num_out_ch=None,
                 full_channel_positions=(), channels_last=False, lean_autograd=True):
        layout = memory_format(channels_last)
        holder = SimpleNamespace(weights=None)  # shared by the supernet and its ops (deep copies keep the sharing)
        unknown = sorted(set(full_channel_positions) - set(CONV_POSITIONS))
        if unknown:
            raise ValueError(f'full_channel_positions: unknown position(s) {unknown}; known: {list(CONV_POSITIONS)}')

        def factory(position, in_channels, out_channels, block_index=None):
            k = 1 if position in full_channel_positions else partial_k
            cin, cout = partial_channel_split(in_channels, out_channels, k)
            mixed = MixedOp([build_imdn_op(name, cin, cout, bn_affine=False) for name in IMDN_CANDIDATES],
                            names=IMDN_CANDIDATES, in_channels=in_channels, out_channels=out_channels,
                            partial_k=k)
            return SharedAlphaOp(mixed, holder, CONV_POSITIONS.index(position))

        super().__init__(upscale, num_in_ch=num_in_ch, num_feat=num_feat, num_blocks=num_blocks,
                         num_out_ch=num_out_ch, conv_factory=factory)
        self._holder = holder
        self.register_arch_parameter(
            'alpha', ALPHA_INIT_SCALE * torch.randn(len(CONV_POSITIONS), len(IMDN_CANDIDATES)), group='op',
            costs=imdn_cost_table(upscale, num_feat).float(), op_names=IMDN_CANDIDATES)
        self.memory_format = layout
        self.to(memory_format=layout)
        set_lean_autograd(self, lean_autograd, 'network_g.lean_autograd')

    def forward(self, x):
        self._holder.weights = arch_softmax(self.alpha)
        try:
            return super().forward(x.contiguous(memory_format=self.memory_format))
        finally:
            self._holder.weights = None  # do not keep the graph alive between steps

    def genotype(self):
        with torch.no_grad():
            ops = derive_argmax(self.alpha, IMDN_CANDIDATES)
        return validate_genotype({'space': 'imdn', 'ops': ops})
