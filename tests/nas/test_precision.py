"""Mixed precision (srnas.nas.precision): the architect directions under bf16 autocast on CPU.

Truth: the same direction in fp32. Directions with finite differences (second order,
A2M) must come out bit-identical (they run with autocast off); first order runs in
bf16 and must stay within 2e-2 relative (measured 3e-3 on the DLSR supernet).
"""
import pytest
import torch

from srnas.nas.architects import Architect
from srnas.nas.errors import NASConfigError
from srnas.nas.precision import MixedPrecision, check_amp
from srnas.nas.search_loop import LoopOptions, SearchTask, run_search
from tests.nas.nas_core_toys import SmoothSupernet, make_batch, mse_loss_fn, relative_l2

CONFIGS = {
    'first_order': {'type': 'first_order', 'regularizers': [{'type': 'flops', 'relative': 0.3}]},
    'second_order': {'type': 'second_order', 'regularizers': [{'type': 'sa'}]},
    'a2m': {'type': 'a2m', 'rho': 0.1, 'eps': 0.01},
    'a2m_alpha_centre': {'type': 'a2m', 'rho': 0.1, 'eps': 0.01, 'center': 'alpha'},
}


def _direction(kind, autocast):
    model = SmoothSupernet(dtype=torch.float32, dim=16)
    opt = torch.optim.SGD(model.weights(), lr=0.05, momentum=0.9)
    architect = Architect(model, mse_loss_fn, CONFIGS[kind], weight_optimizer=opt)
    val, train = make_batch(n=16, dim=16, dtype=torch.float32, seed=1), make_batch(n=16, dim=16, dtype=torch.float32)
    with torch.autocast('cpu', dtype=torch.bfloat16, enabled=autocast):
        grads, loss = architect.direction(val, 1, train_batch=train)
    return [g.detach() for g in grads], loss


@pytest.mark.parametrize('kind', ['second_order', 'a2m', 'a2m_alpha_centre'])
def test_finite_difference_directions_are_fp32_under_bf16_autocast(kind):
    fp32, loss32 = _direction(kind, autocast=False)
    got, loss = _direction(kind, autocast=True)
    assert all(torch.equal(g, r) for g, r in zip(got, fp32))
    assert loss.dtype == torch.float32 and torch.equal(loss, loss32)


def test_first_order_direction_runs_in_bf16_close_to_fp32():
    fp32, _ = _direction('first_order', autocast=False)
    got, _ = _direction('first_order', autocast=True)
    err = relative_l2(got, fp32)
    assert 0 < err < 2e-2  # > 0: the forward did run in bf16


def test_amp_options_are_checked_with_one_clear_error():
    assert check_amp('bf16', 'cpu') == 'bf16'
    with pytest.raises(NASConfigError, match='search.amp: fp16 needs CUDA'):
        check_amp('fp16', 'cpu', 'search.amp')
    with pytest.raises(NASConfigError, match=r"train.amp must be one of \['none', 'bf16', 'fp16'\], got 'fp8'"):
        MixedPrecision('fp8', 'cpu', 'train.amp')


class Float32ToyTask(SearchTask):
    """The toy search in float32 (autocast casts float32 only), regression batches drawn from the seed."""
    space = 'toy'

    def __init__(self, kind):
        self.model = SmoothSupernet(dtype=torch.float32, dim=16)
        self.weight_optimizer = torch.optim.SGD(self.model.weights(), lr=0.05, momentum=0.9)
        config = {**CONFIGS[kind], 'optimizer': {'type': 'adam', 'lr': 0.05}}
        self.architect = Architect(self.model, mse_loss_fn, config, weight_optimizer=self.weight_optimizer)

    def train_batches(self, epoch, seed):
        return [make_batch(n=16, dim=16, dtype=torch.float32, seed=seed + i) for i in range(3)]

    def arch_batches(self, epoch, seed):
        return iter([make_batch(n=16, dim=16, dtype=torch.float32, seed=seed + 50 + i) for i in range(3)])

    def weight_loss(self, batch):
        loss = mse_loss_fn(self.net(), batch)
        return loss, {'l_mse': float(loss.detach())}

    def genotype(self):
        return self.model.alpha.argmax(-1).tolist()


def _toy_search(tmp_path, amp, kind):
    task = Float32ToyTask(kind)
    run_search(task, LoopOptions(epochs=2, out_dir=tmp_path / amp, plot='off', log=lambda line: None, amp=amp))
    return [p.detach().clone() for p in task.model.parameters()]


@pytest.mark.parametrize('kind', ['first_order', 'second_order'])
def test_a_bf16_search_stays_close_to_the_fp32_search(tmp_path, kind):
    fp32 = _toy_search(tmp_path, 'none', kind)
    bf16 = _toy_search(tmp_path, 'bf16', kind)
    err = relative_l2(bf16, fp32)
    assert 0 < err < 2e-2
