"""Task-agnostic NAS core: mixed ops, arch-parameter bookkeeping, regularisers,
architects (first order, second order, A2M) and genotype utilities.

Importing this package pulls in torch only (no BasicSR, no SR or
classification code), so both tasks can build on it.
"""
from srnas.nas.errors import NASConfigError
from srnas.nas.genotype import (darts_cell_edges, derive_argmax, derive_top_k_edges, load_genotype, read_genotype_file,
                             save_genotype,
                                top_k_indices)
from srnas.nas.mixed_op import (MixedOp, arch_softmax, channel_shuffle, edge_normalized_sum,
                                partial_channel_split, resample_channels, set_lean_autograd)
from srnas.nas.regularizers import (beta_loss, build_regularizers, build_schedule, flops_loss, l2_loss,
                                    sa_loss)
from srnas.nas.recorder import AlphaRecorder
from srnas.nas.supernet import SupernetMixin

__all__ = [
    'NASConfigError', 'MixedOp', 'arch_softmax', 'channel_shuffle', 'edge_normalized_sum',
    'partial_channel_split', 'resample_channels', 'set_lean_autograd', 'beta_loss', 'build_regularizers',
    'build_schedule', 'flops_loss', 'l2_loss', 'sa_loss', 'SupernetMixin', 'AlphaRecorder', 'darts_cell_edges', 'derive_argmax',
    'derive_top_k_edges', 'load_genotype', 'read_genotype_file', 'save_genotype', 'top_k_indices',
]
