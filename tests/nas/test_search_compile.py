"""search.compile: the loop torch.compiles the supernet in place; the numbers stay the eager ones."""
import pytest
import torch
import torch.nn.functional as F

from srnas.nas.errors import NASConfigError
from srnas.nas.search_loop import LoopOptions, run_search
from tests.nas.nas_core_toys import make_toy_task


def test_compile_must_be_a_boolean(tmp_path):
    with pytest.raises(NASConfigError, match='search.compile must be true or false'):
        LoopOptions(epochs=1, out_dir=tmp_path, compile='yes').check()


@pytest.mark.slow  # inductor builds C++ kernels: about a minute on one CPU thread
def test_compiled_search_follows_the_eager_one(tmp_path):
    runs = {}
    for flag in (False, True):
        task = make_toy_task()
        runs[flag] = run_search(task, LoopOptions(epochs=2, out_dir=tmp_path / str(flag), seed=5, compile=flag,
                                                  log=lambda line: None, plot='off'))
        assert (getattr(task.model, '_compiled_call_impl', None) is not None) == flag
        assert list(task.model.state_dict()) == list(make_toy_task().model.state_dict())  # no _orig_mod. prefix
    for eager, compiled in zip(runs[False]['history'], runs[True]['history']):
        for name in eager['softmax']:  # float64: only the order of the sums may differ
            torch.testing.assert_close(torch.tensor(compiled['softmax'][name]), torch.tensor(eager['softmax'][name]),
                                       rtol=1e-9, atol=1e-12)
        assert compiled['losses'] == pytest.approx(eager['losses'], rel=1e-9)


@pytest.mark.slow
def test_compiled_nb201_supernet_gives_the_eager_loss_and_gradients():
    from classification.nb201.search_net import NB201SearchNetwork
    torch.manual_seed(0)
    eager = NB201SearchNetwork(channels=4, cells_per_stage=1, num_classes=3).train()
    compiled = NB201SearchNetwork(channels=4, cells_per_stage=1, num_classes=3).train()
    compiled.load_state_dict(eager.state_dict())
    compiled.compile(dynamic=False)
    x, y = torch.randn(4, 3, 8, 8), torch.tensor([0, 1, 2, 0])
    results = []
    for model in (eager, compiled):
        loss = F.cross_entropy(model(x), y)
        results.append((loss.detach(), torch.autograd.grad(loss, list(model.parameters()))))
    (loss_e, grads_e), (loss_c, grads_c) = results
    torch.testing.assert_close(loss_c, loss_e, rtol=1e-5, atol=1e-6)
    for (name, _), g_c, g_e in zip(eager.named_parameters(), grads_c, grads_e):
        # fused kernels sum in another order: float32 rounding (the conv bias before BN has a gradient of 0 up
        # to rounding, about 2e-7 here)
        assert (g_c - g_e).abs().max() <= 1e-4 * g_e.abs().max() + 1e-6, name
    for (name, buf_e), buf_c in zip(eager.named_buffers(), compiled.buffers()):  # BN running statistics
        torch.testing.assert_close(buf_c, buf_e, rtol=1e-5, atol=1e-6, msg=name)
