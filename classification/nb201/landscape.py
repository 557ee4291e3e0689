"""Architecture-space geometry on NAS-Bench-201 (A2M §4.1): neighbourhoods at radius r, paths and barriers.

An architecture is its sequence of 6 op indices (edge order of the string).
A neighbour at radius r changes r distinct edges to another op (no change is
undone), i.e. it sits at Hamming distance exactly r: there are
C(6, r) * 4^r of them. A shortest path between two architectures changes one
differing edge per step; the d! orderings of the d differing edges are all
the shortest paths.

Accuracy path and barrier as A2M defines them (§4.1.2, §5.1.1): level k of the
path tree holds the C(d, k) unique architectures with k of the d differing
edges switched to the target's op; the accuracy path is the mean accuracy of
each level, and the barrier is 1/2 (Acc(A) + Acc(B)) - min over the path of
that mean (``barrier_definition='a2m'``, the default). The other definition
kept here, ``'max_below_line'``, is the largest drop below the straight line
between the endpoints (the loss-barrier analogue) on one given profile.
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
    ops = parse(arch)
    found = []
    for edges in itertools.combinations(range(NUM_EDGES), radius):
        choices = [[o for o in NB201_PRIMITIVES if o != ops[e]] for e in edges]
        found += [_switched(ops, dict(zip(edges, replacement)), edges) for replacement in itertools.product(*choices)]
    return sorted(found)


def _switched(start, goal, edges):
    """The string of ``start`` (op names) with the ``edges`` set to ``goal[edge]``."""
    current = list(start)
    for e in edges:
        current[e] = goal[e]
    return to_str(current)


def _differing_edges(arch_a, arch_b):
    start, goal = parse(arch_a), parse(arch_b)
    return start, goal, [e for e in range(NUM_EDGES) if start[e] != goal[e]]


def neighbourhood_size(radius, num_edges=NUM_EDGES, num_ops=len(NB201_PRIMITIVES)):
    return math.comb(num_edges, radius) * (num_ops - 1) ** radius


def shortest_paths(arch_a, arch_b, limit=None):
    """Shortest paths from ``arch_a`` to ``arch_b`` (lists of strings, endpoints included), at most ``limit``."""
    start, goal, differing = _differing_edges(arch_a, arch_b)
    paths = []
    for order in itertools.permutations(differing):
        paths.append([_switched(start, goal, order[:k]) for k in range(len(order) + 1)])
        if limit is not None and len(paths) >= limit:
            break
    return paths


BARRIER_DEFINITIONS = ('a2m', 'max_below_line')


def path_levels(arch_a, arch_b):
    """The path tree's levels: ``levels[k]`` = the unique architectures k differing edges away from ``arch_a``."""
    start, goal, differing = _differing_edges(arch_a, arch_b)
    return [sorted(_switched(start, goal, edges) for edges in itertools.combinations(differing, k))
            for k in range(len(differing) + 1)]


def accuracy_path(accuracy_of, arch_a, arch_b):
    """Mean accuracy of each level of the path tree (A2M §4.1.2); ``accuracy_of(arch) -> float`` is any lookup."""
    return [sum(accuracy_of(arch) for arch in level) / len(level) for level in path_levels(arch_a, arch_b)]


def accuracy_barrier(accuracies, definition='a2m'):
    """Barrier of an accuracy profile (endpoints first and last).

    ``a2m`` (A2M §5.1.1, on the level means of :func:`accuracy_path`): 1/2 (first + last) - min(profile).
    ``max_below_line``: max_i (interpolation of the endpoints at step i - accuracy_i), >= 0.
    """
    n = len(accuracies) - 1
    if n < 1:
        raise ValueError('a path needs at least two architectures')
    first, last = accuracies[0], accuracies[-1]
    if definition == 'a2m':
        return (first + last) / 2 - min(accuracies)
    if definition == 'max_below_line':
        return max(0.0, max(first + (last - first) * i / n - acc for i, acc in enumerate(accuracies)))
    raise ValueError(f'unknown barrier definition {definition!r}; choose one of {BARRIER_DEFINITIONS}')


def a2m_barrier(accuracy_of, arch_a, arch_b):
    """A2M's barrier between two architectures: ``(barrier, level means)`` from any accuracy lookup."""
    profile = accuracy_path(accuracy_of, arch_a, arch_b)
    return accuracy_barrier(profile, 'a2m'), profile


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
