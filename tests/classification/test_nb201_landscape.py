"""Neighbourhoods, shortest paths and accuracy barriers on NAS-Bench-201 (A2M §4.1)."""
import math

import pytest

from classification.nb201 import landscape as L
from classification.nb201.arch import meta_archs, parse

BEST = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|'


@pytest.mark.parametrize('radius', [0, 1, 2, 3])
def test_neighbourhood_is_every_arch_at_exact_hamming_distance(radius):
    found = L.neighbours(BEST, radius)
    assert len(found) == len(set(found)) == math.comb(6, radius) * 4 ** radius == L.neighbourhood_size(radius)
    # independent count: brute force over the whole space
    if radius <= 2:
        brute = sorted(a for a in meta_archs() if sum(x != y for x, y in zip(parse(a), parse(BEST))) == radius)
        assert found == brute
    assert all(L.hamming(BEST, a) == radius for a in found)


def test_shortest_paths_change_one_edge_per_step():
    target = meta_archs()[0]
    d = L.hamming(BEST, target)
    paths = L.shortest_paths(BEST, target)
    assert len(paths) == math.factorial(d) == len({tuple(p) for p in paths})
    for path in paths:
        assert path[0] == BEST and path[-1] == target and len(path) == d + 1
        assert all(L.hamming(a, b) == 1 for a, b in zip(path, path[1:]))
    assert len(L.shortest_paths(BEST, target, limit=5)) == 5


def test_accuracy_barrier_against_hand_values():
    # A2M 5.1.1: 1/2 (Acc(A) + Acc(B)) - min over the path
    assert L.accuracy_barrier([90.0, 85.0, 80.0, 94.0]) == pytest.approx(92.0 - 80.0)
    assert L.accuracy_barrier([90.0, 95.0, 94.0]) == pytest.approx(2.0)  # min is the endpoint A
    assert L.accuracy_barrier([90.0, 94.0]) == pytest.approx(2.0)
    # the largest drop below the straight line, kept by name
    assert L.accuracy_barrier([90.0, 85.0, 80.0, 94.0], 'max_below_line') == pytest.approx(90 + 4 * 2 / 3 - 80)
    assert L.accuracy_barrier([90.0, 95.0, 94.0], 'max_below_line') == 0.0
    with pytest.raises(ValueError, match='unknown barrier definition'):
        L.accuracy_barrier([90.0, 94.0], 'steepest')


def test_a2m_barrier_averages_unique_architectures_per_level_by_hand():
    # A and B differ on edges 0 and 3: the tree has levels {A}, {C1, C2}, {B} (two shortest paths).
    a = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|'
    b = '|avg_pool_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|nor_conv_3x3~1|nor_conv_3x3~2|'
    c1 = '|avg_pool_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|'
    c2 = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|nor_conv_3x3~1|nor_conv_3x3~2|'
    table = {a: 90.0, c1: 70.0, c2: 80.0, b: 88.0}
    assert L.path_levels(a, b) == [[a], sorted([c1, c2]), [b]]
    barrier, levels = L.a2m_barrier(table.__getitem__, a, b)
    assert levels == [90.0, 75.0, 88.0]
    assert barrier == pytest.approx(89.0 - 75.0)
    # per path, the line definition gives 19 (via C1) and 9 (via C2): not the paper's number
    per_path = [L.accuracy_barrier([table[x] for x in p], 'max_below_line') for p in L.shortest_paths(a, b)]
    assert sorted(per_path) == pytest.approx([9.0, 19.0])


def test_path_levels_hold_every_unique_architecture_of_all_shortest_paths():
    target = meta_archs()[0]
    d = L.hamming(BEST, target)
    levels = L.path_levels(BEST, target)
    assert [len(level) for level in levels] == [math.comb(d, k) for k in range(d + 1)]
    on_paths = [set() for _ in range(d + 1)]
    for path in L.shortest_paths(BEST, target):
        for k, arch in enumerate(path):
            on_paths[k].add(arch)
    assert [set(level) for level in levels] == on_paths


class FakeBenchmark:
    def __init__(self, table):
        self.table = table

    def query(self, arch, dataset, hp):
        from classification.nb201.benchmark import BenchmarkError
        if arch not in self.table:
            raise BenchmarkError('missing')
        return {'test': self.table[arch], 'valid': self.table[arch] - 1}


def test_profiles_and_neighbourhood_accuracies_use_the_benchmark():
    path = L.shortest_paths(BEST, meta_archs()[284], limit=1)[0]
    bench = FakeBenchmark({arch: 90.0 - 3 * i for i, arch in enumerate(path)})
    assert L.path_profile(bench, path) == [90.0 - 3 * i for i in range(len(path))]
    # of the 24 radius-1 neighbours only path[1] has a record: the others are skipped, not errors
    assert L.neighbourhood_accuracies(bench, BEST, 1) == {path[1]: 87.0}
    assert L.accuracy_barrier(L.path_profile(bench, path), 'max_below_line') == pytest.approx(0.0)  # straight decline


def test_landscape_command_on_a_pth_in_the_official_layout(tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    import torch

    from classification.nb201.arch import arch_index
    archs = [BEST] + L.neighbours(BEST, 1)
    value = {arch: 80.0 + i / 2 for i, arch in enumerate(archs)}
    arch2infos = {}
    for arch in archs:
        record = {'epochs': 200, 'params': 0.1, 'flop': 1.0,
                  'eval_acc1es': {'x-valid@199': value[arch] - 1, 'ori-test@199': value[arch]}}
        arch2infos[arch_index(arch)] = {'full': {'arch_str': arch, 'dataset_seed': {'cifar10-valid': [777]},
                                                 'all_results': {('cifar10-valid', 777): record}}}
    path = tmp_path / 'bench.pth'
    torch.save({'meta_archs': list(meta_archs()), 'arch2infos': arch2infos, 'evaluated_indexes': set()}, path)
    repo = Path(__file__).resolve().parents[2]

    def run(*extra):
        result = subprocess.run([sys.executable, '-m', 'classification', 'landscape', '--benchmark', str(path),
                                 '--arch', BEST, '--dataset', 'cifar10-valid', *extra],
                                cwd=repo, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    hood = run('--radius', '1')
    assert hood['with_records'] == hood['neighbours'] == 24 and hood['reference'] == 80.0
    assert hood['min'] == 80.5 and hood['max'] == 92.0
    far = L.neighbours(BEST, 1)[-1]
    paths = run('--to', far)
    assert paths['distance'] == 1 and paths['paths'][0]['test'] == [80.0, 92.0]
    assert paths['level_means'] == [80.0, 92.0] and paths['barrier'] == pytest.approx(6.0)  # 86 - 80
    assert run('--to', far, '--barrier', 'max_below_line')['min_barrier'] == 0.0
