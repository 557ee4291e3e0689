"""The NAS-Bench-201 accuracy table (``nb201_tss_accuracy.csv``) as a third benchmark form."""
import json
import subprocess
import sys

import pytest

from classification.nb201 import landscape
from classification.nb201.arch import meta_archs, to_str
from classification.nb201.benchmark import BenchmarkError, NB201Table, open_benchmark

TABLE = 'nas_benchmarks/nb201_tss_accuracy.csv'
NATS_EXCERPT = 'nas_benchmarks/NATS-tss-v1_0-3ffb9-simple-excerpt'


@pytest.fixture(scope='module')
def table(shared_data):
    return open_benchmark(shared_data / TABLE)


@pytest.mark.shared_data
def test_all_skip_cell_matches_the_published_collapse_numbers(table):
    assert isinstance(table, NB201Table)
    all_skip = to_str(['skip_connect'] * 6)  # built independently of the table's own strings
    by_string = {d: table.query(all_skip, d)['test'] for d in ('cifar10', 'cifar100', 'ImageNet16-120')}
    assert table.query(all_skip)['index'] == 1835
    # SA-DARTS Table 6, DARTS (1st): 54.30 / 15.61 / 16.32
    assert [round(by_string[d], 2) for d in ('cifar10', 'cifar100', 'ImageNet16-120')] == [54.30, 15.61, 16.32]
    assert {d: table.query(1835, d)['test'] for d in by_string} == by_string


@pytest.mark.shared_data
def test_best_cells_are_the_published_optima(table):
    # SA-DARTS Table 6 "optimal" row: 94.37 (CIFAR-10), 73.51 (CIFAR-100), 47.31 (ImageNet16-120) test
    assert round(max(table.test_accuracies('cifar10')), 2) == 94.37
    assert round(max(table.test_accuracies('cifar100')), 2) == 73.51
    assert round(max(table.test_accuracies('ImageNet16-120')), 2) == 47.31


@pytest.mark.shared_data
def test_table_agrees_with_the_official_nats_files(shared_data, table):
    nats = open_benchmark(shared_data / NATS_EXCERPT)
    for index in nats.available_indices():
        for dataset in ('cifar10', 'cifar100', 'ImageNet16-120'):
            assert table.query(index, dataset)['test'] == pytest.approx(nats.query(index, dataset)['test'], abs=1e-4)
        assert table.query(index, 'cifar10', hp='12')['valid'] == pytest.approx(
            nats.query(index, 'cifar10', hp='12')['valid'], abs=1e-4)


@pytest.mark.shared_data
def test_string_and_index_lookups_agree(table):
    for index in (0, 1, 9, 123, 9930, 15624):
        arch = meta_archs()[index]
        # the same cell written with the inputs of node 3 in another order is the same cell
        nodes = arch.split('+')
        tokens = [t for t in nodes[2].split('|') if t]
        shuffled = '+'.join(nodes[:2] + ['|' + '|'.join(reversed(tokens)) + '|'])
        assert table.query(shuffled) == table.query(index)


@pytest.mark.shared_data
def test_unknown_arch_and_missing_column_are_clear_errors(table):
    with pytest.raises(BenchmarkError, match="unknown op 'conv_7x7'"):
        table.query('|conv_7x7~0|+|none~0|none~1|+|none~0|none~1|none~2|')
    with pytest.raises(BenchmarkError, match='15625 is out of range'):
        table.query(15625)
    with pytest.raises(BenchmarkError, match="no 'cifar10-valid' hp 200"):
        table.query(0, 'cifar10-valid')


def _write(path, header, rows):
    path.write_text('\n'.join([','.join(header)] + [','.join(map(str, r)) for r in rows]) + '\n')
    return path


def test_malformed_table_is_one_clear_error(tmp_path):
    header = list(NB201Table.REQUIRED)
    arch = meta_archs()
    good_row = lambda i: [i, arch[i]] + [50.0] * (len(header) - 2)  # noqa: E731
    with pytest.raises(BenchmarkError, match=r'missing columns \[.cifar10_test_200ep.\]'):
        NB201Table(_write(tmp_path / 'a.csv', [h for h in header if h != 'cifar10_test_200ep'], []))
    with pytest.raises(BenchmarkError, match='expected 15625 architecture rows, found 2'):
        NB201Table(_write(tmp_path / 'b.csv', header, [good_row(0), good_row(1)]))
    rows = [good_row(i) for i in range(len(arch))]
    rows[5][1], rows[6][1] = rows[6][1], rows[5][1]
    with pytest.raises(BenchmarkError, match=r'c\.csv line 7: .* is not architecture 5'):
        NB201Table(_write(tmp_path / 'c.csv', header, rows))
    rows = [good_row(i) for i in range(len(arch))]
    rows[3][4] = 'n/a'
    with pytest.raises(BenchmarkError, match=r'd\.csv line 5: a non-numeric accuracy'):
        NB201Table(_write(tmp_path / 'd.csv', header, rows))
    with pytest.raises(BenchmarkError, match='does not exist'):
        open_benchmark(tmp_path / 'missing.csv')


@pytest.mark.shared_data
def test_landscape_reads_the_table(table):
    arch = meta_archs()[1835]
    values = landscape.neighbourhood_accuracies(table, arch, 1)
    assert len(values) == landscape.neighbourhood_size(1) == 24
    assert values[to_str(['nor_conv_3x3'] + ['skip_connect'] * 5)] == table.query(
        to_str(['nor_conv_3x3'] + ['skip_connect'] * 5))['test']


@pytest.mark.shared_data
def test_cli_query_prints_the_table_values(shared_data):
    result = subprocess.run([sys.executable, '-m', 'classification', 'query', '--benchmark',
                             str(shared_data / TABLE), '--arch', '1835'], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout)
    assert round(answers['cifar10']['test'], 2) == 54.30
    assert answers['cifar10']['valid'] is None  # the table has no 200-epoch validation column
    bad = subprocess.run([sys.executable, '-m', 'classification', 'query', '--benchmark', str(shared_data / TABLE),
                          '--arch', '|bogus~0|'], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.startswith('error:')
