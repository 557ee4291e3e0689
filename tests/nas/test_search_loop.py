"""The one search loop, on a toy task: resume, order, warm-up, logs, plots, selection, early stopping."""
import json

import pytest
import torch

from srnas.nas.architects import Architect
from srnas.nas.errors import NASConfigError
from srnas.nas.search_loop import LoopOptions, latest_checkpoint, run_search
from tests.nas.nas_core_toys import make_toy_task


def _options(tmp_path, epochs=4, **kwargs):
    lines = []
    opts = LoopOptions(epochs=epochs, out_dir=tmp_path, seed=5, log=lines.append, **kwargs)
    return opts, lines


class Crash(Exception):
    pass


def test_resumed_search_is_bit_identical_to_an_uninterrupted_one(tmp_path):
    full = make_toy_task()
    reference = run_search(full, _options(tmp_path / 'full')[0])

    cut = make_toy_task()
    evaluate = cut.evaluate

    def crash_at_epoch_2(epoch):
        if epoch == 2:
            raise Crash()
        return evaluate(epoch)
    cut.evaluate = crash_at_epoch_2
    with pytest.raises(Crash):
        run_search(cut, _options(tmp_path / 'cut')[0])
    checkpoint = latest_checkpoint(tmp_path / 'cut')
    assert checkpoint.name == 'epoch_00001.pth'

    resumed_task = make_toy_task()  # a fresh process: new objects, state only from the checkpoint
    resumed = run_search(resumed_task, _options(tmp_path / 'cut')[0], resume=checkpoint)
    for (name, a), b in zip(full.model.state_dict().items(), resumed_task.model.state_dict().values()):
        assert torch.equal(a, b), name
    assert [e['softmax'] for e in resumed['history']] == [e['softmax'] for e in reference['history']]
    assert [e['losses'] for e in resumed['history']] == [e['losses'] for e in reference['history']]
    metrics = (tmp_path / 'cut' / 'metrics.jsonl').read_text().splitlines()
    assert [json.loads(line)['epoch'] for line in metrics] == [0, 1, 2, 3]  # no line written twice


@pytest.mark.parametrize('order, pattern', [('alpha_first', ['a', 'w']), ('weights_first', ['w', 'a'])])
def test_alpha_first_and_weights_first_orders(tmp_path, order, pattern):
    events = []
    run_search(make_toy_task(events=events, steps_per_epoch=2), _options(tmp_path, epochs=1, order=order)[0])
    assert events == pattern * 2


def test_warmup_freezes_alpha_and_weight_step_leaves_no_alpha_gradient(tmp_path):
    task = make_toy_task({'type': 'first_order', 'warmup_epochs': 1, 'optimizer': {'type': 'adam', 'lr': 0.05}})
    initial = {n: p.detach().clone() for n, p in task.model.named_arch_parameters()}
    result = run_search(task, _options(tmp_path, epochs=2)[0])
    first, second = result['history']
    assert (first['arch_updated'], first['alpha_steps'], second['alpha_steps']) == (False, 0, 3)
    assert torch.allclose(torch.tensor(first['softmax']['alpha'], dtype=torch.float64),
                          torch.softmax(initial['alpha'], -1))
    assert not torch.equal(task.model.alpha.detach(), initial['alpha'])
    assert all(p.grad is None for p in task.model.arch_parameters())


def test_plots_log_line_and_search_log(tmp_path):
    opts, lines = _options(tmp_path, epochs=2, plot='epoch', summary={'scale': 2})
    result = run_search(make_toy_task(), opts)
    # one PNG per row of each arch parameter: alpha has 2 rows, edge is one vector
    assert sorted(p.name for p in result['plots']) == ['alpha_1.png', 'alpha_2.png', 'edge.png']
    assert all(p.read_bytes()[:4] == b'\x89PNG' for p in result['plots'])
    assert len(lines) == 2 and lines[1].startswith('epoch 2/2: ') and 'l_mse' in lines[1] and 'genotype' in lines[1]
    log = json.loads(result['log_file'].read_text())
    assert (log['space'], log['scale'], log['epochs_planned'], len(log['epochs'])) == ('toy', 2, 2, 2)
    assert log['epochs'][1]['losses']['l_mse'] > 0 and 'valid_loss' in log['epochs'][1]


def test_stable_since_epoch_and_best_val_loss_genotype(tmp_path):
    genotypes = [['op0'], ['op1'], ['op2'], ['op2'], ['op2']]
    losses = [3.0, 1.0, 2.0, 2.5, 1.5]
    task = make_toy_task(scripted_genotypes=genotypes, scripted_val_losses=losses)
    result = run_search(task, _options(tmp_path, epochs=5, select='best_val_loss')[0])
    assert result['stable_since_epoch'] == 2
    saved = json.loads(result['genotype_file'].read_text())
    assert saved == {'space': 'toy', 'genotype': ['op1'], 'epoch': 1, 'selected_by': 'best_val_loss',
                     'stable_since_epoch': 2}
    assert result['genotype'] == ['op1']
    last = run_search(make_toy_task(scripted_genotypes=genotypes, scripted_val_losses=losses),
                      _options(tmp_path / 'last', epochs=5)[0])
    assert last['genotype'] == ['op2'] and last['selected_epoch'] == 4


def test_early_stopping_follows_a2m_epoch_minus_best_greater_than_patience(tmp_path):
    # best at epoch 0; A2M stops once epoch - 0 > 2, i.e. after epoch 3 (4 epochs run, not 3)
    losses = [1.0] + [2.0] * 9
    opts, lines = _options(tmp_path, epochs=10, early_stopping_patience=2)
    result = run_search(make_toy_task(scripted_val_losses=losses), opts)
    assert [e['epoch'] for e in result['history']] == [0, 1, 2, 3]
    assert lines[-1].startswith('early stopping')


class NormReportingArchitect(Architect):
    """Stands in for the per-term norms the architect reports: step k reports data k, sa 10k, total 11k."""

    def step(self, val_batch, epoch, train_batch=None):
        result = super().step(val_batch, epoch, train_batch)
        k = float(self.num_steps)
        self.last_grad_norms = {'data': k, 'sa': 10 * k, 'total': 11 * k}
        return result


def test_per_term_alpha_gradient_norms_are_averaged_per_epoch(tmp_path):
    pytest.importorskip('tensorboard')
    task = make_toy_task(architect_cls=NormReportingArchitect, steps_per_epoch=3)
    opts, lines = _options(tmp_path, epochs=2, tensorboard_dir=tmp_path / 'tb')
    result = run_search(task, opts)
    # epoch 0: steps 1, 2, 3 -> mean 2; epoch 1: steps 4, 5, 6 -> mean 5
    assert [e['alpha_grad_norms'] for e in result['history']] == [
        {'data': 2.0, 'sa': 20.0, 'total': 22.0}, {'data': 5.0, 'sa': 50.0, 'total': 55.0}]
    assert 'alpha grad norms data 5, sa 50, total 55' in lines[1]
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = EventAccumulator(str(tmp_path / 'tb'))
    events.Reload()
    assert [s.value for s in events.Scalars('alpha_grad_norms/sa')] == [20.0, 50.0]


class SilentArchitect(Architect):
    """An architect that reports no per-term norms (as one written before they existed)."""

    def step(self, val_batch, epoch, train_batch=None):
        result = super().step(val_batch, epoch, train_batch)
        self.last_grad_norms = None
        return result


def test_per_term_norms_of_the_real_architect_and_of_one_without_them(tmp_path):
    entry = run_search(make_toy_task(), _options(tmp_path / 'real', epochs=1)[0])['history'][0]
    assert {'data', 'total'} <= set(entry['alpha_grad_norms']) and entry['alpha_grad_norms']['total'] > 0
    silent = run_search(make_toy_task(architect_cls=SilentArchitect), _options(tmp_path / 'silent', epochs=1)[0])
    assert silent['history'][0]['alpha_grad_norms'] == {}
    assert silent['history'][0]['losses']['alpha_grad_norm'] > 0


def test_bad_loop_options_and_foreign_checkpoint_are_clear_errors(tmp_path):
    with pytest.raises(NASConfigError, match="search.order must be one of"):
        run_search(make_toy_task(), _options(tmp_path, order='sideways')[0])
    run_search(make_toy_task(), _options(tmp_path / 'a', epochs=1)[0])
    other = make_toy_task()
    other.space = 'other'
    with pytest.raises(NASConfigError, match="belongs to another run: space is 'toy' in the checkpoint, 'other' in this run"):
        run_search(other, _options(tmp_path / 'b')[0], resume=latest_checkpoint(tmp_path / 'a'))


def test_top2_margins_are_logged_per_row_of_alpha(tmp_path):
    result = run_search(make_toy_task(), _options(tmp_path, epochs=1)[0])
    entry = result['history'][0]
    for probs, margin in zip(entry['softmax']['alpha'], entry['top2_margin']):
        top = sorted(probs, reverse=True)
        assert margin == pytest.approx(top[0] - top[1])
    assert len(entry['top2_margin']) == 2
