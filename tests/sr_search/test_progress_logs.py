"""Readable long runs (issue 11, item 5): bars only on a terminal; elsewhere lines with it/s and ETA."""
import io
import re

import pytest
import yaml

from srnas.utils import progress
from tests.sr_search.sr_helpers import TINY_IMDN, search_options, write_options

ETA = re.compile(r'eta \d+:\d\d:\d\d')


class _Clock:
    """time.time() that advances one second per call after the first item (one item per second)."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_lines_carry_iteration_status_rate_and_eta(monkeypatch):
    clock = _Clock()
    monkeypatch.setattr(progress.time, 'time', clock)
    lines, seen = [], []
    for item in progress.track(range(20), 'step', every=5, write=lines.append, mode='lines',
                               status=lambda: {'l_pix': 0.5, 'lr': 2e-4}):
        seen.append(item)
        clock.now += 1.0  # every item takes one second
    assert seen == list(range(20))
    assert len(lines) == 4
    # after 5 of 20 items at 1 s each: 1 it/s and (20 - 5) x 1 s = 15 s left
    assert lines[0] == 'step: 5/20 (25%) | l_pix 0.5 | lr 2.0e-04 | 1.00 it/s | eta 0:00:15'
    assert lines[2].endswith('eta 0:00:05')
    assert lines[3].endswith('took 0:00:20')


def test_slow_steps_show_seconds_per_iteration_and_long_etas(monkeypatch):
    clock = _Clock()
    monkeypatch.setattr(progress.time, 'time', clock)
    lines = []
    for _ in progress.track(range(3000), 'train', every=1000, write=lines.append, mode='lines'):
        clock.now += 20.0
    assert lines[0] == 'train: 1000/3000 (33%) | 20.0 s/it | eta 11:06:40'  # 2000 x 20 s = 40,000 s


def test_an_iterable_without_length_still_ends_with_a_line():
    lines = []
    assert list(progress.track(iter(range(7)), 'x', every=5, write=lines.append, mode='lines')) == list(range(7))
    assert [line.split(' |')[0] for line in lines] == ['x: 5', 'x: 7']


def test_off_a_terminal_no_bar_is_drawn(monkeypatch):
    monkeypatch.delenv('SRNAS_PROGRESS', raising=False)
    stream = io.StringIO()  # not a terminal
    assert progress.progress_mode(stream) == 'lines'
    list(progress.track(range(30), 'x', stream=stream))
    assert '\r' not in stream.getvalue() and stream.getvalue().count('\n') == 1  # quick: the last line only
    monkeypatch.setenv('SRNAS_PROGRESS', 'off')
    assert progress.progress_mode(stream) == 'off'


@pytest.mark.slow
def test_search_and_retraining_log_lines_with_eta_off_a_terminal(tmp_path, tiny_sr_data, capsys, monkeypatch):
    monkeypatch.delenv('SRNAS_PROGRESS', raising=False)
    from srnas.commands.search import run_sr_search
    from srnas.commands.derive import derive_child
    from srnas.utils.pipelines import run_train
    opt = search_options(tiny_sr_data, 'log_search', TINY_IMDN, {'type': 'first_order'}, total_iter=4,
                         iters_per_epoch=2)
    opt['logger']['print_freq'] = 1
    result = run_sr_search(write_options(opt, tmp_path / 's.yml'), root=tmp_path, progress=True)
    out = capsys.readouterr()
    assert '\r' not in out.out + out.err
    steps = [line for line in out.out.splitlines() if line.startswith('search epoch')]
    assert len(steps) == 4  # print_freq 1: one line per step, 2 epochs x 2 steps
    assert all(ETA.search(line) or 'took' in line for line in steps)
    assert all('l_pix' in line and 'lr 5.0e-04' in line and 'it/s' in line for line in steps)
    assert any('search eta' in line for line in out.out.splitlines() if line.startswith('epoch 1/2'))

    # the child's retraining in the same process (networks already built): BasicSR's iteration lines
    derived = derive_child(result['genotype_file'], preset='demo', out_dir=tmp_path / 'derived', root=tmp_path,
                           data_root=tmp_path, total_iter=2)
    train_opt = yaml.safe_load(derived['train_options'].read_text())
    for phase, split in (('train', 'train'), ('val', 'arch')):  # the tiny pairs instead of the demo photos
        train_opt['datasets'][phase].update(dataroot_gt=str(tiny_sr_data / split / 'GT'),
                                            dataroot_lq=str(tiny_sr_data / split / 'LR'))
    del train_opt['datasets']['train']['meta_info_file']
    train_opt = write_options(train_opt, tmp_path / 'child.yml')
    run_train(train_opt, root_path=tmp_path, overrides=['logger:print_freq=1', 'datasets:train:batch_size_per_gpu=2'])
    out = capsys.readouterr()
    assert '\r' not in out.out + out.err
    iteration_lines = [line for line in out.err.splitlines() if re.search(r'\[epoch: +\d+, iter: +\d+', line)]
    assert len(iteration_lines) == 2 and all(ETA.search(line.replace('eta: ', 'eta ')) for line in iteration_lines)
    assert all('l_pix' in line and 'lr:(' in line for line in iteration_lines)
