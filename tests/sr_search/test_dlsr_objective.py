"""DLSR's search objective (issue 9, item 3.2): HFEN, L1 + 0.2 HFEN, alpha on L_train + L_val, weights first."""
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from srnas.basicsr_compat import register_plugins
from tests.sr_search.sr_helpers import TINY_DLSR, TINY_IMDN, search_options, write_options

OPTIONS = Path(__file__).resolve().parents[2] / 'options' / 'search'


def _hfen_by_hand(output, target, size=5, sigma=1.5):
    """DLSR's HFEN in plain numpy loops: Gaussian (valid), 4-neighbour Laplacian of the channel sum, / max, L1."""
    ax = np.arange(size) - (size - 1) / 2
    g = np.exp(-(ax[:, None] ** 2 + ax[None, :] ** 2) / (2 * sigma ** 2))
    g /= g.sum()

    def response(img):
        b, c, h, w = img.shape
        blurred = np.zeros((b, h - size + 1, w - size + 1))
        for y in range(h - size + 1):
            for x in range(w - size + 1):
                blurred[:, y, x] = (img[:, :, y:y + size, x:x + size] * g).sum(axis=(1, 2, 3))
        padded = np.pad(blurred, ((0, 0), (1, 1), (1, 1)))
        lap = (padded[:, :-2, 1:-1] + padded[:, 2:, 1:-1] + padded[:, 1:-1, :-2] + padded[:, 1:-1, 2:]
               - 4 * padded[:, 1:-1, 1:-1])
        return lap / lap.max() if lap.max() != 0 else lap

    return np.abs(response(output) - response(target)).mean()


def test_hfen_matches_the_reference_definition_by_hand():
    from srnas.losses.hfen_loss import hfen
    gen = torch.Generator().manual_seed(0)
    out, gt = torch.rand(2, 3, 13, 11, generator=gen, dtype=torch.float64), torch.rand(2, 3, 13, 11, generator=gen,
                                                                                           dtype=torch.float64)
    assert hfen(out, gt).item() == pytest.approx(_hfen_by_hand(out.numpy(), gt.numpy()), rel=1e-10)
    assert hfen(gt, gt).item() == 0.0
    flat = torch.full((1, 3, 9, 9), 0.5, dtype=torch.float64)  # constant: only the zero-padded border responds
    assert hfen(flat, gt[:1, :, :9, :9]).item() == pytest.approx(
        _hfen_by_hand(flat.numpy(), gt[:1, :, :9, :9].numpy()), rel=1e-10)
    x = out.clone().requires_grad_()
    hfen(x, gt).backward()
    assert x.grad.abs().sum() > 0
    with pytest.raises(ValueError, match='smaller than'):
        hfen(torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 4))


def test_l1_hfen_loss_is_registered_and_weights_l1_on_the_reference_pixel_range():
    register_plugins()
    from basicsr.losses import build_loss
    from srnas.losses.hfen_loss import hfen
    out, gt = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16)
    loss = build_loss({'type': 'SRNASL1HFENLoss', 'loss_weight': 1.0, 'hfen_weight': 0.2, 'img_range': 255})
    l1_255 = (out * 255 - gt * 255).abs().mean()  # the reference's L1 on 0..255 images
    assert loss(out, gt).item() == pytest.approx((l1_255 + 0.2 * hfen(out * 255, gt * 255)).item(), rel=1e-5)
    only = build_loss({'type': 'SRNASHFENLoss', 'loss_weight': 2.0})
    assert only(out, gt).item() == pytest.approx(2 * hfen(out, gt).item(), rel=1e-6)


def test_train_plus_val_objective_is_the_gradient_of_both_losses():
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'nas'))
    from nas_core_toys import SmoothSupernet, make_batch, mse_loss_fn
    from srnas.nas import NASConfigError
    from srnas.nas.architects import Architect
    model, val_batch, train_batch = SmoothSupernet(), make_batch(seed=1), make_batch(seed=2)
    architect = Architect(model, mse_loss_fn, {'objective': 'train_plus_val'})
    got, _ = architect.direction(val_batch, 0, train_batch=train_batch)
    alphas = model.arch_parameters()
    want = torch.autograd.grad(mse_loss_fn(model, val_batch) + mse_loss_fn(model, train_batch), alphas)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w)
    val_only, _ = Architect(model, mse_loss_fn, {}).direction(val_batch, 0, train_batch=train_batch)
    assert not torch.allclose(val_only[0], got[0])
    with pytest.raises(ValueError, match='needs train_batch'):
        architect.direction(val_batch, 0)
    opt = torch.optim.SGD(model.weights(), lr=0.1)
    with pytest.raises(NASConfigError, match='second_order unrolls L_val only'):
        Architect(model, mse_loss_fn, {'type': 'second_order', 'objective': 'train_plus_val'}, weight_optimizer=opt)
    with pytest.raises(NASConfigError, match='step_order'):
        Architect(model, mse_loss_fn, {'step_order': 'sideways'})


@pytest.mark.parametrize('step_order', ['alpha_first', 'weights_first'])
def test_step_order_decides_which_weights_the_alpha_step_sees(tmp_path, step_order):
    from srnas.nas.search_loop import LoopOptions, run_search
    from tests.nas.nas_core_toys import make_toy_task
    task = make_toy_task({'type': 'first_order', 'step_order': step_order, 'objective': 'train_plus_val',
                          'optimizer': {'type': 'adam', 'lr': 0.05}}, steps_per_epoch=1)
    seen = {'order': []}
    weight_step, arch_step = task.weight_optimizer.step, task.architect.step

    def recording_step(*args, **kwargs):
        seen['order'].append('weights')
        return weight_step(*args, **kwargs)

    def recording_arch(*args, **kwargs):
        seen['order'].append('alpha')
        seen['weights_at_alpha_step'] = [p.detach().clone() for p in task.model.weights()]
        return arch_step(*args, **kwargs)

    task.weight_optimizer.step, task.architect.step = recording_step, recording_arch
    before = [p.detach().clone() for p in task.model.weights()]
    run_search(task, LoopOptions(epochs=1, out_dir=tmp_path, plot='off', log=lambda line: None))
    after = [p.detach().clone() for p in task.model.weights()]
    expected = ['weights', 'alpha'] if step_order == 'weights_first' else ['alpha', 'weights']
    assert seen['order'] == expected
    reference = after if step_order == 'weights_first' else before
    assert all(torch.equal(a, b) for a, b in zip(seen['weights_at_alpha_step'], reference))


def test_reference_option_files_use_the_dlsr_objective_and_darts_stays_plain():
    from srnas.utils.options import read_yaml
    for name in ('dlsr_reference_x2.yml', 'demo_dlsr_reference_x2.yml'):
        opt = read_yaml(OPTIONS / name)
        assert opt['architect']['objective'] == 'train_plus_val'
        assert opt['architect']['step_order'] == 'weights_first'
        assert opt['train']['pixel_opt']['type'] == 'SRNASL1HFENLoss'
        assert opt['train']['pixel_opt']['hfen_weight'] == 0.2 and opt['train']['pixel_opt']['img_range'] == 255
        assert opt['network_g']['type'] == 'SRNASDLSRSupernet'
    full = read_yaml(OPTIONS / 'dlsr_reference_x2.yml')
    assert full['architect']['warmup_epochs'] == 21 and full['datasets']['train']['gt_size'] == 64
    assert full['train']['total_iter'] == 1000 * full['search']['iters_per_epoch'] == 1_000_000
    assert not math.isclose(0.0, full['architect']['optimizer']['lr'])
    darts = read_yaml(OPTIONS / 'darts_dlsr_x2.yml')
    assert darts['architect'].get('objective', 'val') == 'val'
    assert darts['architect'].get('step_order', 'alpha_first') == 'alpha_first'
    assert darts['train']['pixel_opt']['type'] == 'L1Loss'


@pytest.mark.slow
def test_search_runs_with_the_dlsr_reference_objective(tmp_path, tiny_sr_data):
    from srnas.commands.search import run_sr_search as run_search
    architect = {'type': 'first_order', 'objective': 'train_plus_val', 'step_order': 'weights_first',
                 'optimizer': {'type': 'adam', 'lr': 0.01, 'betas': [0.5, 0.999], 'weight_decay': 1e-8},
                 'regularizers': []}
    opt = search_options(tiny_sr_data, 'tiny_dlsr_reference', TINY_DLSR, architect, total_iter=2, iters_per_epoch=1)
    opt['train']['pixel_opt'] = {'type': 'SRNASL1HFENLoss', 'hfen_weight': 0.2, 'img_range': 255}
    result = run_search(write_options(opt, tmp_path / 'o.yml'), root=tmp_path, progress=False)
    assert [e['arch_updated'] for e in result['history']] == [True, True]
    assert result['genotype']['space'] == 'dlsr'
