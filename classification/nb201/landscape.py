"""Architecture-space geometry on NAS-Bench-201 (A2M §4.1): neighbourhoods at radius r, paths and barriers.

An architecture is its sequence of 6 op indices (edge order of the string).
A neighbour at radius r changes r distinct edges to another op (no change is
undone), i.e. it sits at Hamming distance exactly r: there are
C(6, r) * 4^r of them. A shortest path between two architectures changes one
differing edge per step; the d! orderings of the d differing edges are all
the shortest paths. The accuracy barrier of a path is the largest drop of an
intermediate architecture below the straight line between the endpoints'
accuracies (the architecture-space analogue of a loss barrier).
"""
import itertools
import math

from classification.nb201.arch import NUM_EDGES, parse, to_str
from classification.ops import NB201_PRIMITIVES


def hamming(arch_a, arch_b):
    """Number of edges whose op differs."""
    return sum(a != b for a, b in zip(parse(arch_a), parse(arch_b)))


def neighbours(arch, radius):
    """All architectures at Hamming distance exactly ``radius`` (sorted by benchmark-independent string order)."""
    if not 0 <= radius <= NUM_EDGES:
        raise ValueError(f'radius must be in [0, {NUM_EDGES}], got {radius}')
    ops = list(parse(arch))
    found = []
    for edges in itertools.combinations(range(NUM_EDGES), radius):
        choices = [[o for o in NB201_PRIMITIVES if o != ops[e]] for e in edges]
        for replacement in itertools.product(*choices):
            new = list(ops)
            for e, o in zip(edges, replacement):
                new[e] = o
            found.append(to_str(new))
    return sorted(found)


def neighbourhood_size(radius, num_edges=NUM_EDGES, num_ops=len(NB201_PRIMITIVES)):
    return math.comb(num_edges, radius) * (num_ops - 1) ** radius


def shortest_paths(arch_a, arch_b, limit=None):
    """Shortest paths from ``arch_a`` to ``arch_b`` (lists of strings, endpoints included), at most ``limit``."""
    start, goal = list(parse(arch_a)), parse(arch_b)
    differing = [e for e in range(NUM_EDGES) if start[e] != goal[e]]
    paths = []
    for order in itertools.permutations(differing):
        current, path = list(start), [to_str(start)]
        for e in order:
            current[e] = goal[e]
            path.append(to_str(current))
        paths.append(path)
        if limit is not None and len(paths) >= limit:
            break
    return paths


def accuracy_barrier(accuracies):
    """max_i (interpolation of the endpoints at step i - accuracy_i), >= 0; 0 for a path of two architectures."""
    n = len(accuracies) - 1
    if n < 1:
        raise ValueError('a path needs at least two architectures')
    first, last = accuracies[0], accuracies[-1]
    return max(0.0, max(first + (last - first) * i / n - acc for i, acc in enumerate(accuracies)))


def path_profile(benchmark, path, dataset='cifar10', hp='200', metric='test'):
    """Benchmark accuracy (``metric``: test or valid) of every architecture on a path."""
    return [benchmark.query(arch, dataset, hp)[metric] for arch in path]


def neighbourhood_accuracies(benchmark, arch, radius, dataset='cifar10', hp='200', metric='test'):
    """``{arch: accuracy}`` over the radius-r neighbourhood; architectures without a record are skipped."""
    from classification.nb201.benchmark import BenchmarkError
    values = {}
    for other in neighbours(arch, radius):
        try:
            values[other] = benchmark.query(other, dataset, hp)[metric]
        except BenchmarkError:
            continue
    return values
