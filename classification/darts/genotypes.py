"""DARTS genotypes: the classic ``Genotype`` namedtuple, published cells, and JSON I/O.

A genotype lists, for each of the 4 intermediate nodes of a cell, two
``(op_name, input_index)`` pairs; inputs 0 and 1 are the two previous cells'
outputs and 2..5 the earlier intermediate nodes. ``*_concat`` lists the nodes
concatenated into the cell output.
"""
import json
from collections import namedtuple
from pathlib import Path

from classification.ops import DARTS_OPS
from srnas.errors import GenotypeError, NASConfigError
from srnas.nas.genotype import read_genotype_file, save_genotype

Genotype = namedtuple('Genotype', 'normal normal_concat reduce reduce_concat')

NUM_NODES = 4

# Published cells (DARTS paper, first and second order; PC-DARTS on CIFAR-10 and ImageNet).
DARTS_V1 = Genotype(
    normal=[('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 0), ('sep_conv_3x3', 1),
            ('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 2)],
    normal_concat=[2, 3, 4, 5],
    reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 0),
            ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('avg_pool_3x3', 0)],
    reduce_concat=[2, 3, 4, 5])
DARTS_V2 = Genotype(
    normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1),
            ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)],
    normal_concat=[2, 3, 4, 5],
    reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1),
            ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)],
    reduce_concat=[2, 3, 4, 5])
PC_DARTS_CIFAR = Genotype(
    normal=[('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 0), ('dil_conv_3x3', 1),
            ('sep_conv_5x5', 0), ('sep_conv_3x3', 1), ('avg_pool_3x3', 0), ('dil_conv_3x3', 1)],
    normal_concat=[2, 3, 4, 5],
    reduce=[('sep_conv_5x5', 1), ('max_pool_3x3', 0), ('sep_conv_5x5', 1), ('sep_conv_5x5', 2),
            ('sep_conv_3x3', 0), ('sep_conv_3x3', 3), ('sep_conv_3x3', 1), ('sep_conv_3x3', 2)],
    reduce_concat=[2, 3, 4, 5])
PC_DARTS_IMAGENET = Genotype(
    normal=[('skip_connect', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 0), ('skip_connect', 1),
            ('sep_conv_3x3', 1), ('sep_conv_3x3', 3), ('sep_conv_3x3', 1), ('dil_conv_5x5', 4)],
    normal_concat=[2, 3, 4, 5],
    reduce=[('sep_conv_3x3', 0), ('skip_connect', 1), ('dil_conv_5x5', 2), ('max_pool_3x3', 1),
            ('sep_conv_3x3', 2), ('sep_conv_3x3', 1), ('sep_conv_5x5', 0), ('sep_conv_3x3', 3)],
    reduce_concat=[2, 3, 4, 5])

PUBLISHED = {
    'DARTS_V1': DARTS_V1,
    'DARTS_V2': DARTS_V2,
    'DARTS': DARTS_V2,
    'PC_DARTS': PC_DARTS_CIFAR,
    'PC_DARTS_CIFAR': PC_DARTS_CIFAR,
    'PC_DARTS_IMAGENET': PC_DARTS_IMAGENET,
}


def validate(genotype, where='genotype'):
    """Check op names, input indices and concat lists; return the genotype as a clean ``Genotype``."""
    parts = {}
    for cell in ('normal', 'reduce'):
        edges = getattr(genotype, cell)
        if len(edges) != 2 * NUM_NODES:
            raise GenotypeError(f'{where}: {cell} cell needs {2 * NUM_NODES} (op, input) pairs, got {len(edges)}')
        clean = []
        for k, edge in enumerate(edges):
            if len(edge) != 2:
                raise GenotypeError(f'{where}: {cell}[{k}] must be (op_name, input_index), got {edge!r}')
            name, index = edge[0], edge[1]
            if name not in DARTS_OPS or name == 'none':
                raise GenotypeError(f"{where}: {cell}[{k}] has unknown op '{name}'")
            node = k // 2
            if not isinstance(index, int) or not 0 <= index < node + 2:
                raise GenotypeError(f'{where}: {cell}[{k}] input {index!r} must be an int in [0, {node + 1}]')
            clean.append((str(name), int(index)))
        concat = [int(i) for i in getattr(genotype, f'{cell}_concat')]
        if not concat or any(not 2 <= i < 2 + NUM_NODES for i in concat):
            raise GenotypeError(f'{where}: {cell}_concat must list nodes in [2, {1 + NUM_NODES}], got {concat}')
        parts[cell], parts[f'{cell}_concat'] = clean, concat
    return Genotype(**parts)


def to_dict(genotype):
    g = validate(genotype)
    return {'normal': [list(e) for e in g.normal], 'normal_concat': list(g.normal_concat),
            'reduce': [list(e) for e in g.reduce], 'reduce_concat': list(g.reduce_concat)}


def from_dict(data, where='genotype'):
    missing = [k for k in Genotype._fields if k not in data]
    if missing:
        raise GenotypeError(f'{where}: missing keys {missing}')
    return validate(Genotype(normal=[tuple(e) for e in data['normal']], normal_concat=list(data['normal_concat']),
                             reduce=[tuple(e) for e in data['reduce']], reduce_concat=list(data['reduce_concat'])),
                    where)


def parse(text, where='genotype'):
    """Accept a published name (``DARTS_V2``), a JSON dict, or the repr ``Genotype(normal=[...], ...)``."""
    text = text.strip()
    if text in PUBLISHED:
        return PUBLISHED[text]
    if text.startswith('{'):
        try:
            return from_dict(json.loads(text), where)
        except json.JSONDecodeError as err:
            raise GenotypeError(f'{where}: not valid JSON ({err})') from None
    if text.startswith('Genotype('):
        import ast
        try:
            call = ast.parse(text, mode='eval').body
            kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords}
        except (SyntaxError, ValueError) as err:
            raise GenotypeError(f'{where}: cannot parse Genotype(...) text ({err})') from None
        for key in ('normal_concat', 'reduce_concat'):  # repr of range(2, 6) is not a literal
            if isinstance(kwargs.get(key), str):
                raise GenotypeError(f'{where}: {key} must be a list')
        return from_dict(kwargs, where)
    raise GenotypeError(f"{where}: expected one of {sorted(PUBLISHED)}, a JSON object or 'Genotype(...)'")


def load(path):
    """Read a genotype file: JSON/YAML written by :func:`save` (or by a search), or a text file holding a
    published name / ``Genotype(...)``."""
    path = Path(path)
    if not path.is_file():
        raise GenotypeError(f'genotype file {path} does not exist')
    if path.suffix.lower() not in ('.json', '.yml', '.yaml'):
        return parse(path.read_text(), where=str(path))
    try:
        _, data, _ = read_genotype_file(path)
    except NASConfigError as err:
        raise GenotypeError(str(err)) from None
    if isinstance(data, str):
        return parse(data, where=str(path))
    return from_dict(data, where=str(path))


def save(genotype, path, **extra):
    """Write ``{'space': 'darts', 'genotype': {...}, 'repr': 'Genotype(...)', **extra}`` atomically."""
    save_genotype('darts', to_dict(genotype), path, repr=repr(validate(genotype)), **extra)
    return Path(path)
