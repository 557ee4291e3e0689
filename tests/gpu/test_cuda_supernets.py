"""The supernets on CUDA: the CPU's loss, gradients and BN statistics; channels_last and the lean autograd
graph on CUDA.

Truth: the same supernet, same weights and inputs, on the CPU in float64. In float32, single
gradients of the NHWC and NCHW supernets differ by 1e-2 to 6e-1 of their largest entry on the CPU
alone (a few ReLU / max-pool kinks taken the other way, and batch norm's float32 sums: see
docs/benchmarks.md), while in float64 they agree to 6e-10: float64 separates a real difference
from rounding. So CUDA-vs-CPU and the lean graph run in float64; channels_last runs in float32 (cuDNN
has no NHWC float64 convolutions) against the float64 truth, measured as a whole.
The lean graph's bit-identity with the plain graph is a property of ATen's CPU batch-norm kernel;
on CUDA it must hold to float64 rounding.
"""
import copy

import pytest
import torch
import torch.nn.functional as F

from classification.darts.search_net import DartsSearchNetwork
from classification.nb201.search_net import NB201SearchNetwork
from srnas.spaces.dlsr_supernet import DLSRSupernet
from srnas.spaces.imdn_supernet import IMDNSupernet
from srnas.nas.layout import padded_avg_pool_backward_is_right
from tests.gpu.cuda_helpers import gradient_gaps, needs_cuda
from tests.nas.nas_core_toys import relative_l2, set_mixed_op_flag

pytestmark = needs_cuda

BUILDERS = {
    'darts': lambda cl: DartsSearchNetwork(channels=8, num_classes=10, layers=3, channels_last=cl),
    'pcdarts': lambda cl: DartsSearchNetwork(channels=8, num_classes=10, layers=3, partial_k=4,
                                             edge_normalization=True, channels_last=cl),
    'nb201': lambda cl: NB201SearchNetwork(channels=8, cells_per_stage=1, num_classes=10, channels_last=cl),
    'sac_dlsr': lambda cl: DLSRSupernet(upscale=2, num_feat=8, partial_k=2, channels_last=cl),
    'sac_imdn': lambda cl: IMDNSupernet(upscale=2, num_feat=16, num_blocks=1, partial_k=2, channels_last=cl),
}
SR = ('sac_dlsr', 'sac_imdn')


def _build(name, channels_last=False, device='cpu'):
    return BUILDERS[name](channels_last).to(device=device, dtype=torch.float64).train()


def _inputs(name, device='cpu'):
    gen = torch.Generator().manual_seed(1)
    if name in SR:
        pair = (torch.rand(4, 3, 16, 16, generator=gen, dtype=torch.float64),
                torch.rand(4, 3, 32, 32, generator=gen, dtype=torch.float64))
    else:
        pair = torch.randn(8, 3, 32, 32, generator=gen, dtype=torch.float64), torch.randint(0, 10, (8,), generator=gen)
    return tuple(t.to(device) for t in pair)


def _loss(name):
    return F.l1_loss if name in SR else F.cross_entropy


def _loss_grads_buffers(model, name, device):
    x, y = _inputs(name, device)
    loss = _loss(name)(model(x), y)
    grads = torch.autograd.grad(loss, list(model.parameters()))
    return loss.detach(), grads, [b.detach() for b in model.buffers()]


@pytest.mark.parametrize('name', sorted(BUILDERS))
def test_cuda_gives_the_cpu_loss_gradients_and_bn_statistics(name):
    torch.manual_seed(0)
    cpu = _build(name)
    gpu = copy.deepcopy(cpu).cuda()
    loss_cpu, grads_cpu, bufs_cpu = _loss_grads_buffers(cpu, name, 'cpu')
    loss_gpu, grads_gpu, bufs_gpu = _loss_grads_buffers(gpu, name, 'cuda')
    assert abs(float(loss_gpu) - float(loss_cpu)) <= 1e-12 * abs(float(loss_cpu))
    gaps = dict(zip([n for n, _ in cpu.named_parameters()], gradient_gaps(grads_gpu, grads_cpu)))
    worst = max(gaps, key=gaps.get)
    print(f'{name}: loss {float(loss_cpu):.6f}, worst gradient gap {gaps[worst]:.2e} ({worst})')
    assert gaps[worst] < 1e-8, worst
    for b_gpu, b_cpu in zip(bufs_gpu, bufs_cpu):  # BN running mean / var / count after one training forward
        torch.testing.assert_close(b_gpu.cpu(), b_cpu, rtol=1e-10, atol=1e-12)


# Measured on an H100 (torch 2.11, cuDNN 9.19): the NHWC classification supernets' float32 gradients were
# 0.37 (DARTS), 0.014 (PC-DARTS) and 0.29 (NB201) off the float64 truth as a whole (NCHW there: max 7e-6 per
# gradient). The cause is pytorch/pytorch#188344, CUDA's channels_last avg_pool2d backward with padding
# before its fix: re-enacted on the CPU it gives 0.367 / 0.0141 / 0.287 (benchmarks/cuda_avg_pool_bug.py).
# Where this torch still has it, these three cases must fail; with the fix they must pass.
PADDED_AVG_POOL = ('darts', 'pcdarts', 'nb201')


@pytest.mark.parametrize('name', sorted(BUILDERS))
def test_channels_last_on_cuda_follows_the_float64_truth(name):
    if name in PADDED_AVG_POOL and not padded_avg_pool_backward_is_right('cuda'):
        with pytest.raises(AssertionError):
            _check_channels_last_on_cuda(name)
        pytest.xfail(f'pytorch/pytorch#188344 in torch {torch.__version__}: gradients off, as expected')
    _check_channels_last_on_cuda(name)


def _check_channels_last_on_cuda(name):
    # Per-parameter maxima are no yardstick here: float32 takes the other side of a few ReLU / max-pool
    # kinks than float64 (in both layouts, more often in NHWC: docs/benchmarks.md, "How accurate are
    # channels_last float32 gradients?"), which moves single gradients by 1e-2 of their scale and
    # near-zero ones by more. The whole gradient, and the alphas' part of it, must stay within 1e-2
    # (a layout bug, e.g. a wrong reduction axis, is an O(1) error).
    torch.manual_seed(0)
    truth = _build(name)
    loss_truth, grads_truth, _ = _loss_grads_buffers(truth, name, 'cpu')
    arch = [i for i, (n, _) in enumerate(truth.named_parameters()) if n.split('.')[-1].startswith(('alpha', 'beta'))]
    assert arch
    x, y = _inputs(name, 'cuda')
    seen, report = [], []
    for channels_last in (False, True):
        model = BUILDERS[name](channels_last).cuda().train()
        model.load_state_dict(truth.state_dict())  # float64 -> float32, each parameter keeps its layout
        if channels_last:  # the last spatial conv: NHWC must reach the final cell
            convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d) and m.weight.shape[-1] > 1]
            assert all(c.weight.is_contiguous(memory_format=torch.channels_last) for c in convs)
            convs[-1].register_forward_hook(
                lambda _m, _i, out: seen.append(out.is_contiguous(memory_format=torch.channels_last)))
        loss = _loss(name)(model(x.float()), y.float() if y.is_floating_point() else y)
        grads = torch.autograd.grad(loss, list(model.parameters()))
        whole = relative_l2(grads, grads_truth)
        alphas = relative_l2([grads[i] for i in arch], [grads_truth[i] for i in arch])
        report.append(f"{'NHWC' if channels_last else 'NCHW'} loss {abs(float(loss) / float(loss_truth) - 1):.1e} "
                      f'gradients {whole:.1e} alphas {alphas:.1e}')
        assert abs(float(loss) - float(loss_truth)) <= 1e-5 * abs(float(loss_truth))
        assert whole < 1e-2 and alphas < 1e-2
    assert seen == [True], 'the watched conv did not run in NHWC'
    print(f'{name}: float32 relative L2 error against the float64 truth: ' + '; '.join(report))


@pytest.mark.parametrize('name', sorted(BUILDERS))
def test_lean_graph_on_cuda_matches_the_plain_graph(name):
    torch.manual_seed(0)
    lean = _build(name, device='cuda')
    plain = copy.deepcopy(lean)
    set_mixed_op_flag(plain, 'lean_autograd', False)
    loss_lean, grads_lean, bufs_lean = _loss_grads_buffers(lean, name, 'cuda')
    loss_plain, grads_plain, bufs_plain = _loss_grads_buffers(plain, name, 'cuda')
    assert torch.equal(loss_lean, loss_plain)  # the forward is the same kernels in the same order
    gaps = gradient_gaps(grads_lean, grads_plain)
    exact = all(torch.equal(a, b) for a, b in zip(grads_lean, grads_plain))
    print(f'{name}: lean vs plain on CUDA, gradients bit-identical: {exact}, worst gap {max(gaps):.2e}')
    assert max(gaps) < 1e-9
    assert all(torch.equal(a, b) for a, b in zip(bufs_lean, bufs_plain))
