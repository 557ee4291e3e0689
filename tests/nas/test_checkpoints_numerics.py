"""Mid-epoch checkpoints, corrupt/foreign checkpoints and non-finite steps in the one search loop (issue 11)."""
import re
import shutil

import pytest
import torch

from srnas.nas import checkpoints as ckpt
from srnas.nas.numerics import NonFiniteError
from srnas.nas.search_loop import LoopOptions, resume_candidates, run_search
from tests.nas.nas_core_toys import make_toy_task

F64 = torch.float64
STEPS = 5
REGULARISED = {'type': 'first_order', 'optimizer': {'type': 'adam', 'lr': 0.05},
               'regularizers': [{'type': 'sa'}, {'type': 'beta', 'weight': 0.5}, {'type': 'flops', 'weight': 0.5}]}


def lazy_task(architect_config=None, nan_at=None):
    """The toy task with batches drawn lazily, each using the global generator when drawn (like BasicSR's random
    crops), and a weight loss that draws from it too (like dropout): a resume must restore the RNG mid-epoch.

    ``nan_at``: {'train' | 'arch': global iteration} puts a NaN target into that batch.
    """
    task = make_toy_task(architect_config, steps_per_epoch=STEPS)
    nan_at = nan_at or {}

    def batches(epoch, seed, kind):
        gen = torch.Generator().manual_seed(seed)
        for step in range(STEPS):
            x = torch.randn(4, 4, generator=gen, dtype=F64) + 0.01 * torch.rand(4, 4, dtype=F64)
            y = torch.randn(4, generator=gen, dtype=F64)
            if nan_at.get(kind) == epoch * STEPS + step + 1:
                y[0] = float('nan')
            yield x, y

    task.train_batches = lambda epoch, seed: batches(epoch, seed, 'train')
    task.arch_batches = lambda epoch, seed: batches(epoch, seed, 'arch')
    plain_loss = task.weight_loss

    def noisy_loss(batch):
        loss, logs = plain_loss(batch)
        return loss + 1e-3 * torch.rand((), dtype=F64), logs
    task.weight_loss = noisy_loss
    return task


def options(out_dir, epochs=3, **kwargs):
    lines = []
    kwargs.setdefault('plot', 'off')
    return LoopOptions(epochs=epochs, out_dir=out_dir, seed=3, log=lines.append, **kwargs), lines


def comparable(history):
    return [{k: v for k, v in entry.items() if k != 'seconds'} for entry in history]


def test_resume_from_every_mid_epoch_checkpoint_is_bit_identical(tmp_path):
    full_task = lazy_task()
    full = run_search(full_task, options(tmp_path / 'full', checkpoint_every_iters=2, keep_checkpoints=100)[0])
    saved = resume_candidates(tmp_path / 'full')
    mid = [p for p in saved if '_step_' in p.name]
    # iterations 2, 4, ..., 14 of 15; 10 is the end of epoch 2 (its step-5 file and its epoch file both exist)
    assert sorted(ckpt.checkpoint_position(p) for p in mid) == [(0, 2), (0, 4), (1, 1), (1, 3), (1, 5), (2, 2), (2, 4)]
    for checkpoint in mid:
        run_dir = tmp_path / checkpoint.stem
        (run_dir / 'checkpoints').mkdir(parents=True)
        shutil.copy(checkpoint, run_dir / 'checkpoints' / checkpoint.name)
        task = lazy_task()  # a fresh process: every object new, state only from the file
        opts, lines = options(run_dir)
        resumed = run_search(task, opts, resume=resume_candidates(run_dir))
        epoch, step = ckpt.checkpoint_position(checkpoint)
        assert f'at step {step} of epoch {epoch + 1}' in lines[0]
        for (name, a), b in zip(full_task.model.state_dict().items(), task.model.state_dict().values()):
            assert torch.equal(a, b), (checkpoint.name, name)
        for a, b in zip(full_task.architect.optimizer.state_dict()['state'].values(),
                        task.architect.optimizer.state_dict()['state'].values()):
            assert torch.equal(a['exp_avg'], b['exp_avg'])
        assert comparable(resumed['history']) == comparable(full['history']), checkpoint.name


def test_rotation_keeps_the_newest_and_an_interrupted_write_leaves_the_previous_ones(tmp_path, monkeypatch):
    run_search(lazy_task(), options(tmp_path, epochs=2, checkpoint_every_iters=1, keep_checkpoints=2)[0])
    assert [p.name for p in resume_candidates(tmp_path)] == ['epoch_00001.pth', 'epoch_00001_step_0000005.pth']
    before = {p.name: p.read_bytes() for p in resume_candidates(tmp_path)}

    def killed_mid_write(obj, path, *args, **kwargs):
        with open(path, 'wb') as handle:
            handle.write(b'PK\x03\x04 half a zip')
        raise KeyboardInterrupt  # what a kill looks like to the code after it: nothing more runs
    monkeypatch.setattr(torch, 'save', killed_mid_write)
    task = lazy_task()
    with pytest.raises(KeyboardInterrupt):
        run_search(task, options(tmp_path, epochs=3, checkpoint_every_iters=1)[0], resume=resume_candidates(tmp_path))
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in resume_candidates(tmp_path)} == before
    # a real SIGKILL cannot clean up: leave a stale temporary; the next run removes it and says so
    (tmp_path / 'checkpoints' / '.epoch_00002_step_0000001.pth.abc12345.pth').write_bytes(b'partial')
    opts, lines = options(tmp_path, epochs=3)
    run_search(lazy_task(), opts, resume=resume_candidates(tmp_path))
    assert lines[0].startswith('removed .epoch_00002_step_0000001.pth.abc12345.pth')
    assert not list((tmp_path / 'checkpoints').glob('.epoch_*'))


def _corrupt(path, how):
    data = path.read_bytes()
    if how == 'truncated_no_checksum':  # a checkpoint written before checksums, or its .sha256 lost
        ckpt.checksum_path(path).unlink()
        path.write_bytes(data[:len(data) // 2])
    elif how == 'flipped':  # one byte inside a weight tensor's data: torch.load alone does not notice
        weight = next(iter(torch.load(path, weights_only=False)['model'].values()))
        position = data.find(weight.numpy().tobytes()[:32]) + 5
        path.write_bytes(data[:position] + bytes([data[position] ^ 0xFF]) + data[position + 1:])
        assert not torch.equal(next(iter(torch.load(path, weights_only=False)['model'].values())), weight)
    elif how == 'truncated':
        path.write_bytes(data[:len(data) // 2])
    elif how == 'random':
        path.write_bytes(torch.randint(0, 256, (len(data),), generator=torch.Generator().manual_seed(0),
                                       dtype=torch.uint8).numpy().tobytes())
    elif how == 'empty':
        path.write_bytes(b'')
    elif how == 'newer':
        state = torch.load(path, weights_only=False)
        state['format'] = ckpt.CHECKPOINT_FORMAT + 1
        torch.save(state, path)
        ckpt.checksum_path(path).unlink()
    elif how == 'not_a_checkpoint':
        torch.save([1, 2, 3], path)
        ckpt.checksum_path(path).unlink()


@pytest.mark.parametrize('how, message', [
    ('truncated', 'cannot be read: its content does not match its checksum'),
    ('random', 'cannot be read: its content does not match its checksum'),
    ('empty', 'cannot be read: its content does not match its checksum'),
    ('flipped', 'cannot be read: its content does not match its checksum'),
    ('truncated_no_checksum', 'cannot be read (truncated or not a checkpoint)'),
    ('newer', 'written by a newer srnas'),
    ('not_a_checkpoint', 'is not an srnas checkpoint'),
])
def test_a_bad_checkpoint_is_one_error_naming_it_and_auto_resume_falls_back(tmp_path, how, message):
    reference = run_search(lazy_task(), options(tmp_path / 'full', epochs=2)[0])
    run_search(lazy_task(), options(tmp_path / 'run', epochs=2, checkpoint_every_iters=3, keep_checkpoints=3)[0])
    newest, previous = resume_candidates(tmp_path / 'run')[:2]
    _corrupt(newest, how)
    with pytest.raises(ckpt.CheckpointError, match=re.escape(message)) as error:
        run_search(lazy_task(), options(tmp_path / 'run', epochs=2)[0], resume=newest)
    assert str(newest) in str(error.value)
    # --auto_resume: the candidates newest first; the bad one is reported, the previous one used
    opts, lines = options(tmp_path / 'run', epochs=2)
    task = lazy_task()
    resumed = run_search(task, opts, resume=resume_candidates(tmp_path / 'run'))
    assert message in lines[0] and f'falling back to the previous checkpoint {previous}' in lines[0]
    assert lines[1].startswith(f'resumed from {previous}')
    assert comparable(resumed['history']) == comparable(reference['history'])
    if 'cannot be read' in message:  # set aside, so it is neither tried again nor counted by the rotation
        assert newest.with_name(newest.name + '.unusable').exists()
    assert ckpt.read_checkpoint(newest)['epoch'] == 1  # rewritten whole by the resumed run


def test_a_checkpoint_of_another_configuration_names_what_differs(tmp_path):
    run_search(lazy_task(), options(tmp_path, epochs=1)[0])
    other = lazy_task({'type': 'a2m', 'optimizer': {'type': 'adam', 'lr': 0.05}})
    with pytest.raises(ckpt.CheckpointError, match="belongs to another run: architect is 'first_order' in the "
                                                   "checkpoint, 'a2m' in this run"):
        run_search(other, options(tmp_path, epochs=2)[0], resume=resume_candidates(tmp_path))
    with pytest.raises(ckpt.CheckpointError, match='seed is 3 in the checkpoint, 4 in this run'):
        run_search(lazy_task(), LoopOptions(epochs=2, out_dir=tmp_path, seed=4, plot='off', log=print),
                   resume=resume_candidates(tmp_path))
    wider = lazy_task()
    wider.fingerprint = lambda: {**type(wider).fingerprint(wider), 'scale': 3}
    with pytest.raises(ckpt.CheckpointError, match='scale is None in the checkpoint, 3 in this run'):
        run_search(wider, options(tmp_path, epochs=2)[0], resume=resume_candidates(tmp_path))


def test_a_format_1_checkpoint_still_resumes(tmp_path):
    """srnas 0.2 checkpoints (format 1: no fingerprint, no progress) of runs still going must stay resumable."""
    reference = run_search(lazy_task(), options(tmp_path / 'full', epochs=2)[0])
    run_search(lazy_task(), options(tmp_path / 'old', epochs=1)[0])
    path = resume_candidates(tmp_path / 'old')[0]
    state = torch.load(path, weights_only=False)
    del state['fingerprint']
    state['format'] = 1
    torch.save(state, path)
    ckpt.checksum_path(path).unlink()
    resumed = run_search(lazy_task(), options(tmp_path / 'old', epochs=2)[0], resume=path)
    assert comparable(resumed['history']) == comparable(reference['history'])


# ---------------------------------------------------------------------------------------------- numerics
def _nan_regulariser(task, name, iteration):
    """Make regulariser ``name`` return NaN during the alpha step of global ``iteration`` only."""
    reg = next(r for r in task.architect.regularizers if r.name == name)
    calls, step, penalty = {'n': 0}, task.architect.step, reg.penalty

    def counting_step(*args, **kwargs):  # one architect step per iteration (no warm-up here)
        calls['n'] += 1
        return step(*args, **kwargs)
    task.architect.step = counting_step
    reg.penalty = lambda model: penalty(model) * float('nan') if calls['n'] == iteration else penalty(model)


@pytest.mark.parametrize('where, expected', [
    ('train', "iteration 7 (epoch 2): non-finite weight step: data loss (l_mse) is nan (parameter group weights)"),
    ('arch', "iteration 7 (epoch 2): non-finite alpha step: data loss is nan (parameter group alpha)"),
    ('sa', "iteration 7 (epoch 2): non-finite alpha step: regulariser 'sa' is nan (parameter group alpha: op)"),
    ('beta', "iteration 7 (epoch 2): non-finite alpha step: regulariser 'beta' is nan (parameter group alpha: op)"),
    ('flops', "iteration 7 (epoch 2): non-finite alpha step: regulariser 'flops' is nan (parameter group alpha: op)"),
])
def test_a_nan_in_each_loss_term_is_named_at_its_iteration_and_skipped(tmp_path, where, expected):
    task = lazy_task(REGULARISED, nan_at={where: 7} if where in ('train', 'arch') else None)
    if where not in ('train', 'arch'):
        _nan_regulariser(task, where, 7)
    opts, lines = options(tmp_path, epochs=2)
    result = run_search(task, opts)
    faults = [line for line in lines if 'non-finite' in line]
    assert faults == [expected + '; step skipped']
    assert [(e['iteration'], e['action']) for e in result['nonfinite']] == [(7, 'skip')]
    second = result['history'][1]
    assert second['alpha_steps'] == (4 if where != 'train' else 5)
    assert all(torch.isfinite(p).all() for p in task.model.parameters())


def test_a_non_finite_weight_gradient_names_the_parameter(tmp_path):
    task = lazy_task()
    calls = {'n': 0}

    def poison(grad):
        calls['n'] += 1
        return grad * float('inf') if calls['n'] == 4 else grad
    task.model.head.weight.register_hook(poison)
    opts, lines = options(tmp_path, epochs=1)
    run_search(task, opts)
    faults = [line for line in lines if 'non-finite' in line]
    # the alpha steps differentiate w.r.t. alpha only (weights frozen): the hook counts weight steps
    assert len(faults) == 1 and 'non-finite weight step: gradient is' in faults[0]
    assert 'parameter group weights[0]: head.weight' in faults[0]


def test_raise_stops_and_rollback_replays_then_skips_like_skip(tmp_path):
    with pytest.raises(NonFiniteError, match=r'iteration 8 \(epoch 2\): non-finite weight step: data loss'):
        run_search(lazy_task(nan_at={'train': 8}), options(tmp_path / 'raise', nonfinite='raise')[0])
    skip_task = lazy_task(nan_at={'train': 8})
    skipped = run_search(skip_task, options(tmp_path / 'skip', checkpoint_every_iters=3)[0])
    roll_task = lazy_task(nan_at={'train': 8})
    opts, lines = options(tmp_path / 'roll', checkpoint_every_iters=3, nonfinite='rollback')
    rolled = run_search(roll_task, opts)
    assert any('iteration 8 (epoch 2)' in line and line.endswith('rolling back to the newest checkpoint')
               for line in lines)
    assert any(line.startswith('resumed from') and 'epoch_00001_step_0000001.pth' in line for line in lines)
    assert any('iteration 8 (epoch 2)' in line and line.endswith('again after its rollback; step skipped')
               for line in lines)
    # the replay is exact and the step is then skipped: the same run as with ``skip``
    for a, b in zip(skip_task.model.state_dict().values(), roll_task.model.state_dict().values()):
        assert torch.equal(a, b)
    assert comparable(rolled['history']) == comparable(skipped['history'])
