"""Candidate operations for the SR search spaces."""
from srnas.ops.sr_ops import (DLSR_CANDIDATES, IMDN_CANDIDATES, UnknownOpError, build_dlsr_op,
                              build_imdn_op, conv_macs)

__all__ = ['DLSR_CANDIDATES', 'IMDN_CANDIDATES', 'UnknownOpError', 'build_dlsr_op', 'build_imdn_op', 'conv_macs']
