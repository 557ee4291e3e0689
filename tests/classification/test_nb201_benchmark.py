"""Benchmark readers: the real NATS topology excerpt and a .pth written in the official NB201 layout."""
from collections import OrderedDict

import numpy as np
import pytest
import torch

from classification.nb201.arch import meta_archs
from classification.nb201.benchmark import BenchmarkError, NATSTopologyDir, NB201File, open_benchmark

NATS_EXCERPT = 'nas_benchmarks/NATS-tss-v1_0-3ffb9-simple-excerpt'

# Seed means at hp=200 recorded in the real files (notes/nb201.md §3.4): index -> dataset -> (valid, test)
RECORDED = {
    0: {'cifar10-valid': (81.9827, 81.52), 'cifar10': (81.9827, 85.8633), 'cifar100': (52.70, 52.9133),
        'ImageNet16-120': (28.2111, 26.6333)},
    11: {'cifar10-valid': (87.94, 87.65), 'cifar10': (87.94, 91.5833), 'cifar100': (67.4533, 67.6067),
         'ImageNet16-120': (30.4111, 30.1667)},
    284: {'cifar10-valid': (86.0467, 85.6367), 'cifar10': (86.0467, 88.79), 'cifar100': (61.68, 62.14),
          'ImageNet16-120': (33.40, 32.4667)},
}
PARAMS_MB = {0: 0.129306, 11: 0.802426, 284: 0.101306}  # cifar10 params of TinyNetwork / 1e6


@pytest.mark.shared_data
@pytest.mark.parametrize('index', sorted(RECORDED))
def test_nats_reader_returns_recorded_values(shared_data, index):
    bench = open_benchmark(shared_data / NATS_EXCERPT)
    assert isinstance(bench, NATSTopologyDir)
    arch = meta_archs()[index]
    for dataset, (valid, test) in RECORDED[index].items():
        by_string = bench.query(arch, dataset, hp='200')
        assert by_string['index'] == index and by_string['arch'] == arch
        assert by_string['valid'] == pytest.approx(valid, abs=1e-4)
        assert by_string['test'] == pytest.approx(test, abs=1e-4)
        assert bench.query(index, dataset, hp=200)['test'] == by_string['test']
    assert bench.query(index, 'cifar10')['params'] == pytest.approx(PARAMS_MB[index])


@pytest.mark.shared_data
def test_nats_reader_clear_errors(shared_data):
    bench = open_benchmark(shared_data / NATS_EXCERPT)
    with pytest.raises(BenchmarkError, match='no file for architecture 1'):
        bench.query(1, 'cifar10')
    with pytest.raises(BenchmarkError, match="unknown dataset 'svhn'"):
        bench.query(0, 'svhn')
    with pytest.raises(BenchmarkError, match="unknown hp '90'"):
        bench.query(0, 'cifar10', hp='90')
    # hp=12 has cifar10-valid for seeds 111 and 777 but (as in the real file) a single seed for cifar100
    assert bench.query(0, 'cifar10-valid', hp='12')['seeds'] == 2
    assert bench.query(0, 'cifar100', hp='12')['seeds'] == 1


def _results_count(dataset, seed, epochs, acc):
    """A ResultsCount state dict in the official layout; last-epoch accuracies from ``acc``."""
    last = epochs - 1
    evals = {f'{name}@{last}': value for name, value in acc.items()}
    evals.update({f'{name}@{last - 1}': value - 1.0 for name, value in acc.items()})  # an earlier epoch, ignored
    return {'name': dataset, 'seed': f'{seed:04d}', 'epochs': epochs,
            'train_acc1es': {e: 50.0 for e in range(epochs)}, 'train_acc5es': None,
            'train_losses': {e: 1.0 for e in range(epochs)}, 'train_times': None,
            'arch_config': {'channel': 16, 'num_cells': 5, 'arch_str': '', 'class_num': 10},
            'params': np.float64(0.5), 'flop': 10.0, 'latency': [np.float64(0.01)],
            'eval_names': list(acc), 'eval_acc1es': OrderedDict(evals),
            'eval_losses': {k: 0.5 for k in evals}, 'eval_times': {k: 1.0 for k in evals},
            'net_state_dict': None}


def _arch_results(index, epochs, values):
    all_results, seeds = OrderedDict(), {}
    for (dataset, seed), acc in values.items():
        all_results[(dataset, seed)] = _results_count(dataset, seed, epochs, acc)
        seeds.setdefault(dataset, []).append(seed)
    return {'arch_index': index, 'arch_str': meta_archs()[index], 'all_results': all_results,
            'dataset_seed': {k: sorted(v) for k, v in seeds.items()}, 'clear_net_done': True}


def test_nb201_pth_reader_on_official_layout(tmp_path):
    full = _arch_results(42, 200, {
        ('cifar10-valid', 777): {'x-valid': 90.0, 'ori-test': 91.0},
        ('cifar10-valid', 888): {'x-valid': 92.0, 'ori-test': 93.0},
        ('cifar10', 777): {'ori-test': 94.0}, ('cifar10', 888): {'ori-test': 95.0},
        ('cifar100', 777): {'ori-test': 70.0, 'x-valid': 71.0, 'x-test': 72.0},
        ('ImageNet16-120', 777): {'ori-test': 40.0, 'x-valid': 41.0, 'x-test': 42.0}})
    less = _arch_results(42, 12, {('cifar10-valid', 111): {'x-valid': 60.0, 'ori-test': 61.0}})
    data = {'meta_archs': list(meta_archs()), 'total_archs': 15625,
            'arch2infos': {42: {'full': full, 'less': less}}, 'evaluated_indexes': {42}}
    path = tmp_path / 'NAS-Bench-201-v1_0-e61699.pth'
    torch.save(data, path)

    bench = open_benchmark(path)
    assert isinstance(bench, NB201File)
    arch = meta_archs()[42]
    assert bench.query(arch, 'cifar10-valid') | {} == bench.query(42, 'cifar10-valid', '200')
    got = {ds: (q['valid'], q['test']) for ds, q in bench.query_all(arch, hp='200').items()}
    assert got == {'cifar10-valid': (91.0, 92.0), 'cifar10': (91.0, 94.5), 'cifar100': (71.0, 72.0),
                   'ImageNet16-120': (41.0, 42.0)}
    assert set(bench.query_all(arch, hp='12')) == {'cifar10-valid'}  # v1.0: hp 12 only on cifar10-valid
    assert bench.query(42, 'cifar10-valid', '12')['test'] == 61.0
    with pytest.raises(BenchmarkError, match='no record for architecture 43'):
        bench.query(43, 'cifar10')


def test_bad_benchmark_paths_are_clear_errors(tmp_path):
    with pytest.raises(BenchmarkError, match='does not exist'):
        open_benchmark(tmp_path / 'missing.pth')
    junk = tmp_path / 'junk.pth'
    junk.write_bytes(b'not a pickle')
    with pytest.raises(BenchmarkError, match='junk.pth'):
        open_benchmark(junk)
    with pytest.raises(BenchmarkError, match='no meta.pickle.pbz2'):
        open_benchmark(tmp_path)
