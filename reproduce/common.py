"""Shared pieces of the ``reproduce/`` scripts: paths, subprocess searches, parsing their outputs, tables, plots.

A search runs as ``python -m classification search -opt <generated yaml>`` in
a subprocess pinned to one thread; its output folder (``metrics.jsonl``,
``genotype.json``, ``alpha_history.json``) is read back by
:func:`read_search_run`, the one place that knows those file formats.
"""
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

from srnas.nas.files import atomic_write, atomic_write_text

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / 'shared' / 'data'
NB201_TABLE = SHARED_DATA / 'nas_benchmarks' / 'nb201_tss_accuracy.csv'
CIFAR10_JPG = SHARED_DATA / 'cifar10_jpg'
TABLE_DATASETS = ('cifar10', 'cifar100', 'ImageNet16-120')
SCALES = ('smoke', 'cpu', 'paper')


class ReproduceError(RuntimeError):
    """A missing input or a failed run; the message names the file or the run."""


def run_main(main):
    """Run a script's ``main()``; a ``ReproduceError`` is one line on stderr and exit code 2, not a traceback."""
    try:
        return main()
    except ReproduceError as err:
        print(f'error: {err}', file=sys.stderr)
        return 2


def default_out(script):
    return REPO / 'reproduce' / 'results' / script


def require(path, what):
    if not Path(path).exists():
        raise ReproduceError(f'{what} not found at {path} (see ../shared/data/README.md)')
    return Path(path)


def write_json(path, data):
    return atomic_write_text(path, json.dumps(data, indent=1, sort_keys=False) + '\n')


def read_json(path):
    return json.loads(Path(path).read_text())


def write_yaml(path, opt):
    return atomic_write_text(path, yaml.safe_dump(opt, sort_keys=False))


def one_thread_env():
    env = dict(os.environ)
    for key in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS'):
        env[key] = '1'
    env['PYTHONPATH'] = str(REPO) + os.pathsep + env.get('PYTHONPATH', '')
    return env


def run_cli_search(option_file, log_file):
    """Run one search to completion; returns wall seconds. Its stdout/stderr go to ``log_file``."""
    start = time.time()
    Path(log_file).parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, 'w') as log:
        proc = subprocess.run([sys.executable, '-m', 'classification', 'search', '-opt', str(option_file)],
                              cwd=REPO, env=one_thread_env(), stdout=log, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        tail = Path(log_file).read_text()[-2000:]
        raise ReproduceError(f'search {option_file} failed (exit {proc.returncode}); end of {log_file}:\n{tail}')
    return time.time() - start


def read_search_run(out_dir):
    """One finished search folder -> ``{epochs: [...], final: {...}, final_probs: [[...]]}``.

    ``epochs[i]`` = ``{epoch, genotype, valid_top1, valid_loss, seconds, table: {dataset: test acc}}``;
    ``final`` is the genotype the search returned (its selection rule applied) with its table accuracies.
    """
    out_dir = Path(out_dir)
    metrics, genotype_file, history_file = (out_dir / 'metrics.jsonl', out_dir / 'genotype.json',
                                            out_dir / 'alpha_history.json')
    for path in (metrics, genotype_file):
        if not path.is_file():
            raise ReproduceError(f'{out_dir}: search output {path.name} is missing (run not finished?)')
    epochs = []
    for line in metrics.read_text().splitlines():
        record = json.loads(line)
        table = {d: a.get('test') for d, a in (record.get('benchmark') or {}).items() if 'test' in a}
        epochs.append({'epoch': record['epoch'], 'genotype': record['genotype'], 'valid_top1': record['valid_top1'],
                       'valid_loss': record['valid_loss'], 'seconds': record['seconds'], 'table': table})
    chosen = read_json(genotype_file)
    final = {'arch': chosen.get('genotype', chosen.get('arch')), 'index': chosen['index'], 'epoch': chosen.get('epoch'),
             'selected_by': chosen.get('selected_by'),
             'table': {d: a.get('test') for d, a in (chosen.get('benchmark') or {}).items() if 'test' in a}}
    entries = (read_json(history_file).get('entries') or []) if history_file.is_file() else []
    probs_per_epoch = [e['probs'].get('alphas') for e in entries] or None  # softmax(alpha) of the NB201 supernet
    return {'epochs': epochs, 'final': final, 'final_probs': probs_per_epoch[-1] if probs_per_epoch else None,
            'probs_per_epoch': probs_per_epoch}


def mean_std(values):
    values = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not values:
        return None, None
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def fmt_mean_std(values, digits=2):
    mean, std = mean_std(values)
    if mean is None:
        return 'n/a'
    return f'{mean:.{digits}f} ± {std:.{digits}f} (n={len([v for v in values if v is not None])})'


def md_arch(arch):
    """An arch string as a code span inside a markdown table (GFM needs its pipes escaped there)."""
    return '`' + arch.replace('|', '\\|') + '`'


def markdown_table(header, rows):
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '|'.join('---' for _ in header) + '|']
    lines += ['| ' + ' | '.join(str(c) for c in row) + ' |' for row in rows]
    return '\n'.join(lines) + '\n'


def save_figure(fig, path):
    """Write a matplotlib ``Figure`` as PNG (write-then-rename)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    FigureCanvasAgg(fig)
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format='png', dpi=90, bbox_inches='tight'))
