"""Mixed precision on CUDA: the architect directions under bf16 and fp16 autocast.

Truth: the same direction in fp32 on the GPU. Second order and A2M run their finite
differences with autocast off, so they must be bit-identical under either dtype; first order
runs under bf16 (close to fp32) and in fp32 under fp16 (srnas.nas.precision: without a
scaler its small alpha gradients would underflow).
"""
import pytest
import torch

from srnas.nas.architects import Architect
from tests.gpu.cuda_helpers import needs_cuda
from tests.nas.nas_core_toys import SmoothSupernet, make_batch, mse_loss_fn, relative_l2

pytestmark = needs_cuda

CONFIGS = {
    'first_order': {'type': 'first_order', 'regularizers': [{'type': 'flops', 'relative': 0.3}]},
    'second_order': {'type': 'second_order', 'regularizers': [{'type': 'sa'}]},
    'a2m': {'type': 'a2m', 'rho': 0.1, 'eps': 0.01},
}


def _direction(kind, dtype):
    model = SmoothSupernet(dtype=torch.float32, dim=16).cuda()
    opt = torch.optim.SGD(model.weights(), lr=0.05, momentum=0.9)
    architect = Architect(model, mse_loss_fn, CONFIGS[kind], weight_optimizer=opt)
    val, train = (tuple(t.cuda() for t in make_batch(n=16, dim=16, dtype=torch.float32, seed=s)) for s in (1, 2))
    with torch.autocast('cuda', dtype=dtype or torch.float16, enabled=dtype is not None):
        grads, loss = architect.direction(val, 1, train_batch=train)
    return [g.detach() for g in grads], loss


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16], ids=['bf16', 'fp16'])
@pytest.mark.parametrize('kind', ['second_order', 'a2m'])
def test_finite_difference_directions_are_fp32_under_autocast(kind, dtype):
    fp32, loss32 = _direction(kind, None)
    got, loss = _direction(kind, dtype)
    assert all(torch.equal(g, r) for g, r in zip(got, fp32))
    assert loss.dtype == torch.float32 and torch.equal(loss, loss32)


def test_first_order_is_bf16_under_bf16_and_fp32_under_fp16():
    fp32, _ = _direction('first_order', None)
    bf16, _ = _direction('first_order', torch.bfloat16)
    err = relative_l2(bf16, fp32)
    print(f'first order, bf16 vs fp32 on CUDA: relative error {err:.2e}')
    assert 0 < err < 2e-2  # > 0: the forward did run in bf16
    fp16, _ = _direction('first_order', torch.float16)
    assert all(torch.equal(a, b) for a, b in zip(fp16, fp32))
