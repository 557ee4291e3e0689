"""``--scale smoke`` of every reproduce/ script, end to end on the real data (a few seconds of searching each)."""
import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch

from classification.nb201.benchmark import open_benchmark
from reproduce.common import REPO, read_search_run

pytestmark = [pytest.mark.slow, pytest.mark.shared_data]
TABLE = 'nas_benchmarks/nb201_tss_accuracy.csv'


def _run(module, *args):
    result = subprocess.run([sys.executable, '-m', module, '--scale', 'smoke', *args], cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result


@pytest.fixture(scope='module')
def search_out(shared_data, tmp_path_factory):
    out = tmp_path_factory.mktemp('reproduce') / 'nb201_search'
    _run('reproduce.nb201_search', '--out', str(out), '--methods', 'darts_v1', 'sa', 'beta')
    return out


def test_nb201_search_smoke_logs_table_accuracy_per_epoch(shared_data, search_out):
    table = open_benchmark(shared_data / TABLE)
    results = json.loads((search_out / 'results.json').read_text())
    assert [r['method'] for r in results['runs']] == ['darts_v1', 'sa', 'beta']
    for run in results['runs']:
        assert len(run['epochs']) == 2
        for epoch in run['epochs']:  # the logged accuracy is the table's value of that epoch's derived cell
            assert epoch['table']['cifar10'] == table.query(epoch['genotype'], 'cifar10')['test']
        assert run['final']['table']['ImageNet16-120'] == table.query(run['final']['arch'], 'ImageNet16-120')['test']
        assert math.isclose(sum(run['final_probs'][0]), 1.0, rel_tol=1e-5)
    assert results['summary']['sa']['cifar10']['values'] == [results['runs'][1]['final']['table']['cifar10']]
    assert '| SA-DARTS | 1 | ' in (search_out / 'results.md').read_text()  # summary row: 1 seed
    assert (search_out / 'darts_v1_cifar10_vs_epoch.png').stat().st_size > 1000
    # resumable: a second invocation reuses the finished method-seeds instead of searching again
    again = _run('reproduce.nb201_search', '--out', str(search_out), '--methods', 'darts_v1', 'sa', 'beta')
    assert 'searching' not in again.stdout
    assert read_search_run(search_out / 'runs' / 'sa_seed0')['final'] == results['runs'][1]['final']


def test_sa_table1_smoke(search_out):
    out = search_out.parent / 'sa_table1'
    _run('reproduce.sa_table1', '--out', str(out), '--search-results', str(search_out), '--methods', 'sa')
    results = json.loads((out / 'results.json').read_text())
    runs = json.loads((search_out / 'results.json').read_text())['runs']
    top2 = torch.tensor(runs[0]['final_probs']).topk(2, dim=1).values  # per edge, the two largest softmax values
    assert results['table1']['darts_v1']['gap'] == [pytest.approx(float((top2[:, 0] - top2[:, 1]).min()))]
    recovery = results['recovery'][0]
    assert recovery['method'] == 'sa' and len(recovery['probs_per_epoch']) == 2
    assert (out / 'fig4_skip_init_recovery.png').is_file()


def test_nb201_random_smoke(shared_data, tmp_path):
    _run('reproduce.nb201_random', '--out', str(tmp_path))
    results = json.loads((tmp_path / 'results.json').read_text())
    table = open_benchmark(shared_data / TABLE)
    values = table.test_accuracies('cifar10')
    assert results['distribution']['cifar10']['mean'] == pytest.approx(sum(values) / len(values))
    assert results['distribution']['cifar10']['max'] == max(values)
    for q in (5, 50, 95):
        assert results['distribution']['cifar100'][f'p{q}'] == pytest.approx(
            np.percentile(table.test_accuracies('cifar100'), q))
    run = results['random_search'][0]
    assert run['chosen'] == max(run['tried'], key=lambda t: t['valid_top1'])
    assert len(run['tried']) == 2  # smoke: 2 search epochs = 2 cells x 1 epoch
    assert len(results['random_search_by_budget']['wall'][0]['tried']) == 10  # 5x the epochs
    assert '| random search, same training epochs as one search | 1 | 2 x 1 |' in (tmp_path / 'results.md').read_text()


def test_nb201_barriers_on_the_full_table(shared_data, tmp_path):
    from math import comb

    from classification.nb201.landscape import hamming
    from reproduce.nb201_barriers import main as barriers_main
    assert barriers_main(['--benchmark', str(shared_data / TABLE), '--out', str(tmp_path)]) == 0
    results = json.loads((tmp_path / 'results.json').read_text())['results']
    best = results['cifar10']['high (best cell)']
    assert best['accuracy'] == pytest.approx(94.37, abs=0.005)  # the table's published maximum
    for tiers in results.values():
        for r in tiers.values():
            assert hamming(r['cell'], r['neighbour']) == 3
            assert r['all_neighbours']['count'] == comb(6, 3) * 4 ** 3  # 3 of 6 edges, 4 other ops each
            # the barrier is at least the gap between the endpoints' mean and the lower endpoint
            assert r['barrier'] >= (max(r['accuracy'], r['neighbour_accuracy']) -
                                    min(r['accuracy'], r['neighbour_accuracy'])) / 2 - 1e-9
    assert (tmp_path / 'results.md').read_text().count('\n| ') >= 9
