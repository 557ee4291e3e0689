"""End-to-end CPU training through `srnas train`: learning on the demo photos, and --auto_resume."""
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from srnas.utils.resume import load_resume_state

from tests.foundation.helpers import random_pairs, train_options, write_yaml


@pytest.mark.slow
def test_demo_training_lowers_val_l1_and_beats_bicubic(tmp_path):
    from srnas.demo.imdn_baseline import evaluate_demo, load_trained, mean_l1, train_small_imdn
    from srnas.utils.checkpoint import build_network
    threads = torch.get_num_threads()
    try:
        opt_path, weights = train_small_imdn(tmp_path, scale=2, total_iter=300, num_feat=24, num_blocks=3,
                                             checkpoint_freq=100, name='demo_test')
    finally:
        torch.set_num_threads(threads)
    data_root = tmp_path / 'data'
    torch.manual_seed(0)
    untrained = build_network({'type': 'SRNASIMDN', 'upscale': 2, 'num_feat': 24, 'num_blocks': 3}).eval()
    early = load_trained(opt_path, weights.parent / 'net_g_100.pth')
    final = load_trained(opt_path, weights)
    l1_untrained, l1_early, l1_final = (mean_l1(m, data_root, 2) for m in (untrained, early, final))
    assert l1_final < l1_early < l1_untrained
    results = evaluate_demo(final, data_root, 2, label='trained')
    held_out = 'held-out photos'
    assert results['trained'][held_out]['psnr'] > results['Bicubic'][held_out]['psnr']
    assert results['Bicubic'][held_out]['count'] == 2


def _resume_opt(tmp_path, total_iter):
    gt, lq = random_pairs(tmp_path / 'train', 2, sizes=((24, 24), (20, 28)))
    vgt, vlq = random_pairs(tmp_path / 'val', 2, sizes=((10, 12),))
    opt = train_options(gt, lq, vgt, vlq, name='resume_me', total_iter=total_iter)
    opt['logger'].update({'print_freq': 10, 'save_checkpoint_freq': 20})
    return write_yaml(tmp_path / 'train.yml', opt)


def _srnas(tmp_path, *args):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    return subprocess.Popen([sys.executable, '-m', 'srnas', 'train', *args, '--root', str(tmp_path)], cwd=tmp_path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _readable_states(states_dir):
    found = []
    for name in os.listdir(states_dir) if states_dir.is_dir() else []:
        try:
            torch.load(states_dir / name, map_location='cpu')
            found.append(int(name.split('.')[0]))
        except Exception:
            pass
    return sorted(found)


@pytest.mark.slow
def test_interrupted_cpu_run_resumes_from_its_checkpoint(tmp_path):
    opt_path = _resume_opt(tmp_path, total_iter=100000)
    states_dir = tmp_path / 'experiments' / 'resume_me' / 'training_states'
    first = _srnas(tmp_path, '-opt', str(opt_path))
    deadline = time.time() + 240
    while not _readable_states(states_dir) and first.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)  # interrupted hard, right after its first checkpoint
    first.communicate()
    saved = _readable_states(states_dir)
    assert saved, 'the first run wrote no checkpoint'
    resume_iter = saved[-1]
    second = _srnas(tmp_path, '-opt', str(opt_path), '--auto_resume',
                    '--force_yml', f'train:total_iter={resume_iter + 20}')
    out, _ = second.communicate(timeout=240)
    assert second.returncode == 0, out[-3000:]
    assert f'Resuming training from epoch' in out and f'iter: {resume_iter}.' in out
    assert f'iter:{resume_iter + 10:8,d}' in out  # training went on after the resumed iteration
    models = tmp_path / 'experiments' / 'resume_me' / 'models'
    assert (models / f'net_g_{resume_iter + 20}.pth').is_file()


def test_unreadable_newest_state_falls_back_to_previous(tmp_path):
    states = tmp_path / 'experiments' / 'run' / 'training_states'
    states.mkdir(parents=True)
    torch.save({'iter': 10, 'epoch': 1, 'optimizers': [], 'schedulers': []}, states / '10.state')
    (states / '20.state').write_bytes(b'truncated')
    opt = {'name': 'run', 'auto_resume': True, 'root_path': str(tmp_path), 'num_gpu': 0, 'network_g': {},
           'path': {'models': str(tmp_path / 'experiments' / 'run' / 'models'), 'resume_state': None}}
    state = load_resume_state(opt)
    assert state['iter'] == 10
    assert opt['path']['resume_state'].endswith('10.state')
    assert opt['path']['pretrain_network_g'].endswith('net_g_10.pth')
