"""Key map from the DLSR authors' checkpoints (``DawnHH/DLSR-PyTorch``, class ``RFDN``) onto :class:`DLSRChild`.

The reference network names its parts ``fea_conv`` (stem), ``B1..B6`` (cells, each with
``c{1,2,3}_d`` distillation 1x1s, ``c{1,2,3}_r.op`` candidate ops, ``c4`` 3x3, ``c5`` 1x1 fusion,
``esa``), ``c3..c6`` (1x1 fusions of the inputs of cells 3..6), ``cout`` (fusion of all cells),
``LR_conv`` and ``upsampler.0``. Its candidate ops wrap their layers in ``op`` (a Sequential);
srnas builds a plain conv candidate as a bare ``Conv2d``, so ``op.0`` of a ``conv_kxk`` maps to
the module itself. The checkpoint holds no wiring; the cell ops can be read off the shapes.
"""
import re

from srnas.spaces.genotypes import DLSR_NUM_CELLS, DLSR_OPS_PER_CELL

_CELL_PART = re.compile(r'^B([1-6])\.(.+)$')
_OP_KEY = re.compile(r'^c([1-3])_r\.op\.(\d+)\.(.+)$')
_DIST_KEY = re.compile(r'^c([1-3])_d\.(.+)$')
_INPUT_FUSION = re.compile(r'^c([3-6])\.0\.(.+)$')
_TOP_LEVEL = (('fea_conv.', 'stem.'), ('cout.0.', 'cell_fusion.'), ('LR_conv.', 'lr_conv.'),
              ('upsampler.0.', 'upsampler.0.'))
_CELL_LEVEL = (('c4.', 'last.'), ('c5.', 'fuse.'), ('esa.', 'esa.'))


class DLSRCheckpointError(ValueError):
    """Weights that are not a DLSR reference checkpoint, or that do not fit the genotype asked for."""


def is_official_dlsr_state_dict(state):
    return 'fea_conv.weight' in state and any(k.startswith('B1.c1_r.op.') for k in state)


def read_cell_ops(state):
    """The three op names of the cells, read from the shapes of cell B1's ``c{j}_r`` tensors."""
    ops = []
    for j in range(1, DLSR_OPS_PER_CELL + 1):
        layers = {int(m.group(2)): state[key] for key in state
                  for m in [_OP_KEY.match(key[len('B1.'):])] if key.startswith('B1.') and m
                  and int(m.group(1)) == j and m.group(3) == 'weight'}
        if sorted(layers) == [0]:
            ops.append(f'conv_{layers[0].shape[-1]}x{layers[0].shape[-1]}')
        elif sorted(layers) == [1, 2, 4, 5]:
            ops.append(f'sep_conv_{layers[1].shape[-1]}x{layers[1].shape[-1]}')
        elif sorted(layers) == [1, 2]:
            ops.append(f'dil_conv_{layers[1].shape[-1]}x{layers[1].shape[-1]}')
        else:
            raise DLSRCheckpointError(f'cell op c{j}_r has layers {sorted(layers)}: not a DLSR candidate')
    return ops


def read_upscale(state):
    out_channels, num_feat = state['upsampler.0.weight'].shape[:2]
    in_channels = state['fea_conv.weight'].shape[1]
    scale = int(round((out_channels / in_channels) ** 0.5))
    if scale * scale * in_channels != out_channels:
        raise DLSRCheckpointError(f'upsampler has {out_channels} output channels: not {in_channels} * scale^2')
    return scale


def convert_official_dlsr_state_dict(state, ops):
    """Rename the reference keys (``module.`` already stripped) for a DLSRChild whose cells use ``ops``."""
    return {_map_key(key, ops): value for key, value in state.items()}


def _map_key(key, ops):
    for old, new in _TOP_LEVEL:
        if key.startswith(old):
            return new + key[len(old):]
    match = _INPUT_FUSION.match(key)
    if match:
        return f'input_fusions.{int(match.group(1)) - 3}.{match.group(2)}'
    match = _CELL_PART.match(key)
    if not match or int(match.group(1)) > DLSR_NUM_CELLS:
        raise DLSRCheckpointError(f"unexpected key '{key}' for a DLSR reference checkpoint")
    cell, rest = int(match.group(1)) - 1, match.group(2)
    prefix = f'cells.{cell}.'
    op = _OP_KEY.match(rest)
    if op:
        j = int(op.group(1)) - 1
        if ops[j].startswith('conv_'):  # the candidate is a bare Conv2d here, op.0 in the reference
            return f'{prefix}ops.{j}.{op.group(3)}'
        return f'{prefix}ops.{j}.{op.group(2)}.{op.group(3)}'
    dist = _DIST_KEY.match(rest)
    if dist:
        return f'{prefix}dist.{int(dist.group(1)) - 1}.{dist.group(2)}'
    for old, new in _CELL_LEVEL:
        if rest.startswith(old):
            return prefix + new + rest[len(old):]
    raise DLSRCheckpointError(f"unexpected key '{key}' for a DLSR reference checkpoint")
