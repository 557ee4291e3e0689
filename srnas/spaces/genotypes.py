"""SR genotypes: plain dicts, saved as JSON, validated against their space.

DLSR:  {"space": "dlsr", "ops": [op1, op2, op3],
        "connections": [[a, b], [a, b], [a, b], [a, b]]}
       ``ops`` are the three mixed residual blocks of every cell;
       ``connections[i]`` lists the two earlier cells (1-based, concat order)
       feeding cell i + 3.
IMDN:  {"space": "imdn", "ops": [c1, c2, c3, c4]}
"""
import os
from pathlib import Path

from srnas.errors import GenotypeError, NASConfigError
from srnas.nas.genotype import read_genotype_file
from srnas.nas.registry import SPACE_REGISTRY, SearchSpace
from srnas.nas.genotype import save_genotype as save_genotype_file
from srnas.ops.sr_ops import DLSR_CANDIDATES, IMDN_CANDIDATES

DLSR_NUM_CELLS = 6
DLSR_OPS_PER_CELL = 3
IMDN_POSITIONS = ('c1', 'c2', 'c3', 'c4')


def validate_genotype(genotype, space=None, source='genotype'):
    """Check ``genotype`` (a dict naming its space) with its registered space; returns a clean copy."""
    if not isinstance(genotype, dict):
        raise GenotypeError(f'{source}: expected a mapping with keys space/ops, got {type(genotype).__name__}')
    found = genotype.get('space')
    if found not in SPACE_REGISTRY:
        raise GenotypeError(f"{source}: 'space' must be one of {list(SPACE_REGISTRY)}, got {found!r}")
    if space is not None and found != space:
        raise GenotypeError(f"{source}: this is a '{found}' genotype but a '{space}' network was asked for")
    return SPACE_REGISTRY.get(found).validate(genotype, source)


def validate_op_list(genotype, source, candidates, count, more=None):
    """The common shape ``{"space", "ops": [count names of candidates], **more}``; ``more``: key -> checker."""
    found, ops, more = genotype['space'], genotype.get('ops'), more or {}
    if not isinstance(ops, (list, tuple)) or len(ops) != count:
        raise GenotypeError(f"{source}: 'ops' must list {count} operation names for the {found} space, got {ops!r}")
    for name in ops:
        if name not in candidates:
            raise GenotypeError(f"{source}: unknown {found} operation '{name}'; known: {', '.join(candidates)}")
    clean = {'space': found, 'ops': list(ops)}
    for key, check in more.items():
        clean[key] = check(genotype.get(key), source)
    extra = set(genotype) - set(clean)
    if extra:
        raise GenotypeError(f'{source}: unexpected keys {sorted(extra)} for the {found} space')
    return clean


def _validate_connections(connections, source):
    count = DLSR_NUM_CELLS - 2
    if not isinstance(connections, (list, tuple)) or len(connections) != count:
        raise GenotypeError(f"{source}: 'connections' must list the 2 inputs of each of cells 3..6 ({count} pairs)")
    clean = []
    for cell, pair in enumerate(connections, start=3):
        ok = (isinstance(pair, (list, tuple)) and len(pair) == 2 and len(set(pair)) == 2
              and all(isinstance(i, int) and 1 <= i < cell for i in pair))
        if not ok:
            raise GenotypeError(f'{source}: cell {cell} must read two different earlier cells in 1..{cell - 1}, got {pair!r}')
        clean.append(list(pair))
    return clean


SPACE_REGISTRY.register(SearchSpace(
    'dlsr', lambda genotype, source: validate_op_list(genotype, source, DLSR_CANDIDATES, DLSR_OPS_PER_CELL,
                                                      {'connections': _validate_connections}),
    child_type='SRNASDLSRChild', default_width=48))
SPACE_REGISTRY.register(SearchSpace(
    'imdn', lambda genotype, source: validate_op_list(genotype, source, IMDN_CANDIDATES, len(IMDN_POSITIONS)),
    child_type='SRNASIMDNChild', default_width=64))


def load_genotype(spec, space=None):
    """Genotype from a dict, or from a JSON/YAML file path (the file is named in errors)."""
    if isinstance(spec, (str, os.PathLike)):
        return load_genotype_file(spec, space)[0]
    return validate_genotype(spec, space)


def load_genotype_file(path, space=None):
    """``(validated genotype, metadata such as scale and supernet)`` of a search or derive genotype file."""
    try:
        _, data, meta = read_genotype_file(path)
    except NASConfigError as err:
        raise GenotypeError(str(err)) from None
    return validate_genotype(data, space, source=f'genotype file {Path(path)}'), meta


def save_genotype(genotype, path, extra=None):
    """Write the genotype file ``{"space": ..., "genotype": ..., **extra}`` (srnas.nas.genotype)."""
    genotype = validate_genotype(genotype)
    return save_genotype_file(genotype['space'], genotype, path, **(extra or {}))


# The DLSR network of the paper (reference checkpoint RFDN_beta1_para_loss.pt).
DLSR_PAPER_GENOTYPE = {
    'space': 'dlsr',
    'ops': ['sep_conv_3x3', 'sep_conv_5x5', 'sep_conv_5x5'],
    'connections': [[2, 1], [3, 2], [4, 3], [1, 3]],
}
# "SAC-IMDN w/ FLOPs constraint" of SA-DARTS (App. 6.7.2: "For SAC-DARTS, its genotype is: [dilated depth sep
# conv3x3, depth sep conv3x3, depth sep conv3x3, dilated depth sep conv3x3]", given under "With FLOPs
# constraint"). The paper is ambiguous: §4.4.1 and Fig. 11(a) present "SAC-IMDN" (Table 7: 349.22 K params)
# without printing its ops, and the only SAC genotype written out is this one. Its size settles it: 198,024
# params at x4 (177,252 at x2), next to the FLOPs-constrained row's 200.04 K, far from plain SAC-IMDN's 349.22 K.
IMDN_SAC_FLOPS_GENOTYPE = {
    'space': 'imdn',
    'ops': ['dil_sep_conv_3x3', 'sep_conv_3x3', 'sep_conv_3x3', 'dil_sep_conv_3x3'],
}


def __getattr__(name):
    """``IMDN_SAC_GENOTYPE``: the srnas 0.1 name of ``IMDN_SAC_FLOPS_GENOTYPE``, kept for one release."""
    if name == 'IMDN_SAC_GENOTYPE':
        import warnings
        warnings.warn('IMDN_SAC_GENOTYPE is the FLOPs-constrained SAC-IMDN: use IMDN_SAC_FLOPS_GENOTYPE',
                      DeprecationWarning, stacklevel=2)
        return IMDN_SAC_FLOPS_GENOTYPE
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
