"""DLSR supernet: one alpha (3 x 9) shared by all 6 cells, dense beta-weighted cell inputs.

Cells 3..6 read every earlier cell output, each multiplied by softmax(beta)
before the concat (beta lengths 2, 3, 4, 5, initialised 1e-3 N(0,1) like
alpha). Deriving keeps the argmax op per row of alpha and the top-2 inputs
per beta (largest first: that is the concat order of the child).
``channels_last=True`` keeps weights and activations NHWC (``srnas.nas.layout``).
"""
import torch

from srnas.nas import MixedOp, SupernetMixin, arch_softmax, partial_channel_split, set_lean_autograd
from srnas.nas.genotype import derive_argmax, top_k_indices
from srnas.ops.sr_ops import DLSR_CANDIDATES, build_dlsr_op
from srnas.spaces.costs import dlsr_cost_table
from srnas.spaces.dlsr import DLSRNetwork
from srnas.spaces.genotypes import DLSR_NUM_CELLS, DLSR_OPS_PER_CELL, validate_genotype
from srnas.nas.layout import memory_format

ALPHA_INIT_SCALE = 1e-3


def _mixed_dlsr_op(num_feat, partial_k):
    width, _ = partial_channel_split(num_feat, num_feat, partial_k)
    return MixedOp([build_dlsr_op(name, width) for name in DLSR_CANDIDATES], names=DLSR_CANDIDATES,
                   in_channels=num_feat, out_channels=num_feat, partial_k=partial_k)


class DLSRSupernet(SupernetMixin, DLSRNetwork):
    """The DLSR search network; ``partial_k > 1`` gives SAC (partial-channel mixed ops)."""

    space = 'dlsr'

    def __init__(self, upscale=2, num_feat=48, partial_k=1, num_in_ch=3, num_out_ch=3, channels_last=False,
                 lean_autograd=True):
        layout = memory_format(channels_last)  # validated before anything is built
        dense_inputs = [list(range(1, cell)) for cell in range(3, DLSR_NUM_CELLS + 1)]
        super().__init__(upscale, lambda j: _mixed_dlsr_op(num_feat, partial_k), dense_inputs,
                         num_feat, num_in_ch, num_out_ch)
        self.register_arch_parameter(
            'alpha', ALPHA_INIT_SCALE * torch.randn(DLSR_OPS_PER_CELL, len(DLSR_CANDIDATES)), group='op',
            costs=dlsr_cost_table(upscale, num_feat).float(), op_names=DLSR_CANDIDATES)
        for cell, inputs in zip(range(3, DLSR_NUM_CELLS + 1), dense_inputs):
            self.register_arch_parameter(f'beta_{cell}', ALPHA_INIT_SCALE * torch.randn(len(inputs)), group='edge',
                                         op_names=[f'B{k}' for k in inputs])  # plot labels: the cells read
        self.memory_format = layout
        self.to(memory_format=layout)
        set_lean_autograd(self, lean_autograd, 'network_g.lean_autograd')

    def betas(self):
        return [getattr(self, f'beta_{cell}') for cell in range(3, DLSR_NUM_CELLS + 1)]

    def forward(self, x):
        return super().forward(x.contiguous(memory_format=self.memory_format), arch_softmax(self.alpha),
                               [arch_softmax(b) for b in self.betas()])

    def genotype(self):
        with torch.no_grad():
            ops = derive_argmax(self.alpha, DLSR_CANDIDATES)
            connections = [[i + 1 for i in top_k_indices(b, 2)] for b in self.betas()]
        return validate_genotype({'space': 'dlsr', 'ops': ops, 'connections': connections})
