"""``srnas train`` with fp16: the GradScaler's state goes into the resume state and comes back from it.

fp16 is CUDA-only in srnas (``check_amp``); torch's CPU GradScaler and fp16 autocast let the same code path
run here once that check is lifted for the test. Truth: an uninterrupted run's scale after the same steps.
"""
import copy

import pytest
import torch


def _model_opt(states_dir, amp):
    return {
        'name': 'm', 'model_type': 'SRNASModel', 'scale': 2, 'num_gpu': 0, 'is_train': True, 'dist': False,
        'network_g': {'type': 'SRNASIMDN', 'upscale': 2, 'num_feat': 16, 'num_blocks': 1},
        'path': {'pretrain_network_g': None, 'training_states': str(states_dir)},
        'train': {'ema_decay': 0, 'optim_g': {'type': 'Adam', 'lr': 1e-3},
                  'scheduler': {'type': 'MultiStepLR', 'milestones': [10], 'gamma': 0.5},
                  'pixel_opt': {'type': 'L1Loss', 'loss_weight': 1.0}, 'amp': amp},
    }


@pytest.fixture
def fp16_on_cpu(monkeypatch):
    from srnas.basicsr_compat import register_plugins
    register_plugins()
    from srnas.nas import precision
    monkeypatch.setattr(precision, 'check_amp', lambda mode, device, where='amp': mode)


def _steps(model, batches):
    for lq, gt in batches:
        model.feed_data({'lq': lq, 'gt': gt})
        model.optimize_parameters(1)


def test_a_resumed_fp16_run_continues_with_the_uninterrupted_scale(tmp_path, fp16_on_cpu):
    from srnas.models.srnas_sr_model import SRNASModel
    gen = torch.Generator().manual_seed(0)
    batches = [(torch.rand(2, 3, 8, 8, generator=gen), torch.rand(2, 3, 16, 16, generator=gen)) for _ in range(4)]
    torch.manual_seed(0)
    whole = SRNASModel(_model_opt(tmp_path / 'whole', 'fp16'))
    # A scale far above fp16's range: every step overflows, is skipped and halves the scale (backoff 0.5), so
    # the scale a run has reached depends on its history, which a fresh scaler would not know.
    whole.precision.scaler._init_scale = 2.0 ** 40
    _steps(whole, batches[:2])
    whole.save_training_state(epoch=0, current_iter=2)
    saved = torch.load(tmp_path / 'whole' / '2.state')
    assert saved['grad_scaler']['scale'] == 2.0 ** 38 and saved['grad_scaler']['_growth_tracker'] == 0
    _steps(whole, batches[2:])

    torch.manual_seed(0)
    resumed = SRNASModel(_model_opt(tmp_path / 'resumed', 'fp16'))
    resumed.net_g.load_state_dict(copy.deepcopy(whole.net_g.state_dict()))  # weights: skipped steps left them alone
    resumed.resume_training(saved)
    assert resumed.precision.scaler.get_scale() == 2.0 ** 38
    _steps(resumed, batches[2:])
    assert resumed.precision.scaler.get_scale() == whole.precision.scaler.get_scale() == 2.0 ** 36


def test_non_fp16_states_are_basicsr_s_and_old_states_still_resume(tmp_path):
    from srnas.basicsr_compat import register_plugins
    register_plugins()
    from srnas.models.srnas_sr_model import SRNASModel
    model = SRNASModel(_model_opt(tmp_path, 'none'))
    model.save_training_state(epoch=3, current_iter=7)
    state = torch.load(tmp_path / '7.state')
    assert sorted(state) == ['epoch', 'iter', 'optimizers', 'schedulers'] and state['iter'] == 7
    model.resume_training(state)  # no grad_scaler key: nothing to restore, no error
    assert [p.name for p in tmp_path.iterdir()] == ['7.state']  # written write-then-rename, no temporary left
