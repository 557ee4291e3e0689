"""NAS-Bench-201 architecture strings, op indices and the benchmark's index order.

A string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` lists, node by node, the
edge into node i from node j as ``op~j``. Edge order everywhere (string,
alpha rows, TinyNetwork layers) is 1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2.
"""
import functools
import itertools
import random

from classification.ops import NB201_PRIMITIVES
from srnas.errors import GenotypeError

NUM_NODES = 4
EDGES = tuple((i, j) for i in range(1, NUM_NODES) for j in range(i))  # (to, from) in string order
NUM_EDGES = len(EDGES)
NUM_ARCHS = len(NB201_PRIMITIVES) ** NUM_EDGES
# The benchmark's list is the base-5 enumeration shuffled by Python's random with this seed.
INDEX_SHUFFLE_SEED = 88


class ArchStringError(GenotypeError):
    """A string that is not a complete NAS-Bench-201 cell."""


def parse(arch_str):
    """String -> tuple of 6 op names in edge order; every edge must appear exactly once."""
    if not isinstance(arch_str, str):
        raise ArchStringError(f'architecture must be a string, got {type(arch_str).__name__}')
    nodes = arch_str.split('+')
    if len(nodes) != NUM_NODES - 1:
        raise ArchStringError(f"'{arch_str}': expected {NUM_NODES - 1} nodes joined by '+', got {len(nodes)}")
    ops = {}
    for i, node in enumerate(nodes, start=1):
        for token in (t for t in node.split('|') if t):
            name, sep, source = token.rpartition('~')
            if not sep or not source.isdigit():
                raise ArchStringError(f"'{arch_str}': edge token '{token}' is not 'op~j'")
            j = int(source)
            if name not in NB201_PRIMITIVES:
                raise ArchStringError(f"'{arch_str}': unknown op '{name}' (known: {', '.join(NB201_PRIMITIVES)})")
            if not 0 <= j < i or (i, j) in ops:
                raise ArchStringError(f"'{arch_str}': node {i} has an invalid or repeated input {j}")
            ops[(i, j)] = name
    missing = [f'{i}<-{j}' for i, j in EDGES if (i, j) not in ops]
    if missing:
        raise ArchStringError(f"'{arch_str}': missing edges {missing}")
    return tuple(ops[edge] for edge in EDGES)


def to_str(ops):
    """6 op names (or op indices) in edge order -> the official string."""
    ops = [NB201_PRIMITIVES[o] if isinstance(o, int) else o for o in ops]
    if len(ops) != NUM_EDGES or any(o not in NB201_PRIMITIVES for o in ops):
        raise ArchStringError(f'need {NUM_EDGES} ops from {NB201_PRIMITIVES}, got {ops}')
    nodes = []
    for i in range(1, NUM_NODES):
        nodes.append('|' + '|'.join(f'{ops[k]}~{j}' for k, (to, j) in enumerate(EDGES) if to == i) + '|')
    return '+'.join(nodes)


def to_op_indices(arch_str):
    return tuple(NB201_PRIMITIVES.index(o) for o in parse(arch_str))


def canonical(arch_str):
    """Re-print a parsed string: same cell, inputs sorted as the benchmark writes them."""
    return to_str(parse(arch_str))


def enumeration_index(arch_str):
    """Position in the base-5 enumeration with edge 1<-0 as the most significant digit."""
    value = 0
    for o in to_op_indices(arch_str):
        value = value * len(NB201_PRIMITIVES) + o
    return value


@functools.lru_cache(maxsize=1)
def meta_archs():
    """All 15625 strings in the benchmark's index order (NB201 and NATS topology share it)."""
    # the base-5 enumeration, edge 1<-0 most significant (itertools.product's order)
    archs = [to_str(ops) for ops in itertools.product(range(len(NB201_PRIMITIVES)), repeat=NUM_EDGES)]
    random.Random(INDEX_SHUFFLE_SEED).shuffle(archs)
    return tuple(archs)


@functools.lru_cache(maxsize=1)
def _index_of():
    return {s: i for i, s in enumerate(meta_archs())}


def arch_index(arch_str):
    """Benchmark index of a string, after canonicalising the edge order inside each node."""
    return _index_of()[canonical(arch_str)]


def arch_of_index(index):
    if not 0 <= int(index) < NUM_ARCHS:
        raise ArchStringError(f'architecture index {index} is outside [0, {NUM_ARCHS - 1}]')
    return meta_archs()[int(index)]
