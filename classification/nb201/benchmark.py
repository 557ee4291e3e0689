"""Readers for the NAS-Bench-201 tabular benchmarks.

Three on-disk forms are read. Two hold the same full records (``ArchResults`` state dicts keyed by
``(dataset, seed)``, each with ``eval_acc1es['<set>@<epoch>']``):

* ``NAS-Bench-201-v1_0-e61699.pth`` / ``-v1_1-096897.pth``: one ``torch.save``
  dict ``{'meta_archs', 'arch2infos': {idx: {'less': ..., 'full': ...}}, ...}``;
  ``less`` is hp 12 and ``full`` hp 200. Needs ``torch.load(weights_only=False)``
  (numpy scalars, sets, tuple keys): only open files you trust.
* NATS-Bench topology ``NATS-tss-v1_0-3ffb9-simple/``: ``meta.pickle.pbz2`` plus
  one ``{idx:06d}.pickle.pbz2`` per architecture = ``{'12': ..., '200': ...}``.

The third, ``nb201_tss_accuracy.csv``, is a flat export of the official API
(one row per architecture, in index order): the 200-epoch test accuracy on
CIFAR-10, CIFAR-100 and ImageNet16-120 and the 12-epoch test/valid columns.
It has no 200-epoch validation accuracy, no cifar10-valid record and no
params/FLOPs; those fields are NaN / None in its answers.

Accuracies are the seed mean at the last epoch, mapped as the NB201 paper's
table does: valid is ``x-valid`` and test is ``ori-test`` for cifar10-valid,
``x-valid`` / ``x-test`` for cifar100 and ImageNet16-120; for ``cifar10``
test is its own ``ori-test`` and valid is cifar10-valid's ``x-valid``.
"""
import bz2
import csv
import math
import pickle
from pathlib import Path

from classification.nb201.arch import ArchStringError, arch_index, meta_archs
from srnas.errors import BenchmarkError

DATASETS = ('cifar10-valid', 'cifar10', 'cifar100', 'ImageNet16-120')
HPS = ('12', '200')
# dataset asked for -> ((dataset record, eval set) for valid, (dataset record, eval set) for test)
_METRIC_SOURCES = {
    'cifar10-valid': (('cifar10-valid', 'x-valid'), ('cifar10-valid', 'ori-test')),
    'cifar10': (('cifar10-valid', 'x-valid'), ('cifar10', 'ori-test')),
    'cifar100': (('cifar100', 'x-valid'), ('cifar100', 'x-test')),
    'ImageNet16-120': (('ImageNet16-120', 'x-valid'), ('ImageNet16-120', 'x-test')),
}


def _check_query(dataset, hp):
    if dataset not in _METRIC_SOURCES:
        raise BenchmarkError(f"unknown dataset '{dataset}'; known: {', '.join(DATASETS)}")
    hp = str(hp)
    if hp not in HPS:
        raise BenchmarkError(f"unknown hp '{hp}'; known: {', '.join(HPS)} (training epochs)")
    return hp


def _seed_mean(arch_results, dataset, setname, where):
    """Mean over seeds of the accuracy of ``setname`` at the record's last epoch."""
    seeds = arch_results.get('dataset_seed', {}).get(dataset)
    if not seeds:
        raise BenchmarkError(f"{where}: no '{dataset}' runs in this record")
    values = []
    for seed in seeds:
        record = arch_results['all_results'][(dataset, seed)]
        key = f"{setname}@{int(record['epochs']) - 1}"
        if key in record['eval_acc1es']:
            values.append(float(record['eval_acc1es'][key]))
    if not values:
        raise BenchmarkError(f"{where}: '{dataset}' runs have no '{setname}' accuracy at their last epoch")
    return sum(values) / len(values), len(values)


class _Benchmark:
    """Common query logic; subclasses provide ``_arch_results(index, hp)``."""

    def __init__(self, path, exists=Path.is_file, missing='benchmark file does not exist'):
        self.path = Path(path)
        if not exists(self.path):
            raise BenchmarkError(f'{self.path}: {missing}')

    def index_of(self, arch):
        if isinstance(arch, int):
            if not 0 <= arch < len(meta_archs()):
                raise BenchmarkError(f'architecture index {arch} is out of range')
            return arch
        try:
            return arch_index(arch)
        except ArchStringError as err:
            raise BenchmarkError(str(err)) from None

    def query(self, arch, dataset='cifar10', hp='200'):
        """``{'index', 'arch', 'dataset', 'hp', 'valid', 'test', 'params', 'flops'}`` for one string or index."""
        hp = _check_query(dataset, hp)
        index = self.index_of(arch)
        results = self._arch_results(index, hp)
        where = f'{self.path} arch {index} hp {hp}'
        (valid_ds, valid_set), (test_ds, test_set) = _METRIC_SOURCES[dataset]
        valid, _ = _seed_mean(results, valid_ds, valid_set, where)
        test, n_seeds = _seed_mean(results, test_ds, test_set, where)
        first = results['all_results'][(test_ds, results['dataset_seed'][test_ds][0])]
        return {'index': index, 'arch': results.get('arch_str', meta_archs()[index]), 'dataset': dataset,
                'hp': hp, 'valid': valid, 'test': test, 'seeds': n_seeds,
                'params': float(first['params']), 'flops': float(first['flop'])}

    def query_all(self, arch, hp='200'):
        """Query every dataset this record has; datasets it lacks are left out."""
        answers = {}
        for dataset in DATASETS:
            try:
                answers[dataset] = self.query(arch, dataset, hp)
            except BenchmarkError:
                continue
        return answers


class NATSTopologyDir(_Benchmark):
    """The NATS-Bench topology ``-simple`` directory of bz2 pickles (read lazily, one file per arch)."""

    def __init__(self, root):
        super().__init__(root, lambda path: (path / 'meta.pickle.pbz2').is_file(),
                         'not a NATS topology directory (no meta.pickle.pbz2)')
        meta_path = self.path / 'meta.pickle.pbz2'
        meta = _load_bz2_pickle(meta_path)
        if not isinstance(meta, dict) or len(meta.get('meta_archs', ())) != len(meta_archs()):
            raise BenchmarkError(f'{meta_path}: expected a dict with 15625 meta_archs')
        if tuple(meta['meta_archs']) != meta_archs():
            raise BenchmarkError(f'{meta_path}: its architecture order differs from the NAS-Bench-201 index order')
        self._cache = {}

    def available_indices(self):
        return sorted(int(p.name.split('.')[0]) for p in self.path.glob('*.pickle.pbz2') if p.name[0].isdigit())

    def _arch_results(self, index, hp):
        if index not in self._cache:
            for name in (f'{index:06d}.pickle.pbz2', f'{index}.pickle.pbz2'):
                path = self.path / name
                if path.is_file():
                    self._cache[index] = _load_bz2_pickle(path)
                    break
            else:
                raise BenchmarkError(f'{self.path}: no file for architecture {index} ({index:06d}.pickle.pbz2)')
        record = self._cache[index]
        if hp not in record:
            raise BenchmarkError(f'{self.path}: architecture {index} has no hp {hp} results')
        return record[hp]


class NB201File(_Benchmark):
    """A ``NAS-Bench-201-v1_*.pth`` file, loaded whole into memory."""

    HP_KEYS = {'12': 'less', '200': 'full'}

    def __init__(self, path):
        import torch
        super().__init__(path)
        try:
            data = torch.load(self.path, map_location='cpu', weights_only=False)
        except Exception as err:  # any unpickling failure means the file is not a benchmark
            raise BenchmarkError(f'{self.path}: cannot read as a NAS-Bench-201 .pth ({err})') from None
        missing = [k for k in ('meta_archs', 'arch2infos', 'evaluated_indexes') if not isinstance(data, dict) or k not in data]
        if missing:
            raise BenchmarkError(f'{self.path}: missing keys {missing}; not a NAS-Bench-201 file')
        if tuple(data['meta_archs']) != meta_archs():
            raise BenchmarkError(f'{self.path}: its architecture order differs from the NAS-Bench-201 index order')
        self.arch2infos = data['arch2infos']

    def _arch_results(self, index, hp):
        infos = self.arch2infos.get(index)
        if infos is None:
            raise BenchmarkError(f'{self.path}: no record for architecture {index}')
        key = self.HP_KEYS[hp]
        if key not in infos:
            raise BenchmarkError(f"{self.path}: architecture {index} has no '{key}' (hp {hp}) results")
        return infos[key]


class NB201Table(_Benchmark):
    """``nb201_tss_accuracy.csv``: every architecture's accuracies, one CSV row each, loaded whole (about 3 MB)."""

    # (dataset, hp) -> (valid column or None, test column)
    COLUMNS = {
        ('cifar10', '200'): (None, 'cifar10_test_200ep'),
        ('cifar100', '200'): (None, 'cifar100_test_200ep'),
        ('ImageNet16-120', '200'): (None, 'imagenet16_120_test_200ep'),
        ('cifar10', '12'): ('cifar10_valid_12ep', 'cifar10_test_12ep'),
        ('cifar100', '12'): ('cifar100_valid_12ep', 'cifar100_test_12ep'),
        ('ImageNet16-120', '12'): ('imagenet16_120_valid_12ep', 'imagenet16_120_test_12ep'),
    }
    REQUIRED = ('index', 'arch_str') + tuple(sorted({c for pair in COLUMNS.values() for c in pair if c}))

    def __init__(self, path):
        super().__init__(path, missing='benchmark table does not exist')
        with open(self.path, newline='') as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in self.REQUIRED if c not in (reader.fieldnames or ())]
            if missing:
                raise BenchmarkError(f'{self.path}: not a NAS-Bench-201 accuracy table (missing columns {missing})')
            rows = list(reader)
        expected = meta_archs()
        if len(rows) != len(expected):
            raise BenchmarkError(f'{self.path}: expected {len(expected)} architecture rows, found {len(rows)}')
        self._values = {}
        for line, row in enumerate(rows, start=2):
            if row['index'] != str(line - 2) or row['arch_str'] != expected[line - 2]:
                raise BenchmarkError(f"{self.path} line {line}: index {row['index']!r} / arch "
                                     f"{row['arch_str']!r} is not architecture {line - 2} of the NAS-Bench-201 order")
            try:
                self._values[line - 2] = {c: float(row[c]) for c in self.REQUIRED[2:]}
            except (TypeError, ValueError):
                raise BenchmarkError(f'{self.path} line {line}: a non-numeric accuracy') from None

    def _columns(self, dataset, hp):
        """(hp, (valid column or None, test column)) of a query; BenchmarkError if the table lacks it."""
        hp = _check_query(dataset, hp)
        if (dataset, hp) not in self.COLUMNS:
            raise BenchmarkError(f"{self.path}: the table has no '{dataset}' hp {hp} accuracy "
                                 f"(it has {sorted({d for d, _ in self.COLUMNS})})")
        return hp, self.COLUMNS[(dataset, hp)]

    def query(self, arch, dataset='cifar10', hp='200'):
        hp, (valid_col, test_col) = self._columns(dataset, hp)
        index = self.index_of(arch)
        values = self._values[index]
        return {'index': index, 'arch': meta_archs()[index], 'dataset': dataset, 'hp': hp,
                'valid': values[valid_col] if valid_col else math.nan, 'test': values[test_col],
                'seeds': None, 'params': None, 'flops': None}

    def test_accuracies(self, dataset='cifar10', hp='200'):
        """Test accuracy of all 15,625 cells in index order (for distributions over the whole space)."""
        column = self._columns(dataset, hp)[1][1]
        return [self._values[i][column] for i in range(len(self._values))]


def _load_bz2_pickle(path):
    try:
        with bz2.BZ2File(path, 'rb') as handle:
            return pickle.load(handle)
    except (OSError, EOFError, pickle.UnpicklingError) as err:
        raise BenchmarkError(f'{path}: cannot read bz2 pickle ({err})') from None


def open_benchmark(path):
    """A NATS topology directory, a NB201 ``.pth`` file or a ``.csv`` table, chosen by what ``path`` is."""
    path = Path(path)
    if path.is_dir():
        return NATSTopologyDir(path)
    if path.suffix.lower() == '.csv':
        return NB201Table(path)
    if path.is_file():
        return NB201File(path)
    raise BenchmarkError(f'{path}: benchmark path does not exist')
