"""A search killed after a checkpoint resumes to the same result; exported children match PyTorch."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.sr_search.sr_helpers import TINY_IMDN, search_options, write_options

REPO = Path(__file__).resolve().parents[2]
ARCHITECT = {'type': 'first_order', 'optimizer': {'type': 'adam', 'lr': 0.01, 'betas': [0.5, 0.999]},
             'regularizers': [{'type': 'sa'}]}


@pytest.mark.slow
def test_search_killed_after_a_checkpoint_resumes_to_the_uninterrupted_result(tmp_path, tiny_sr_data):
    from srnas.commands.search import run_sr_search as run_search
    opt = search_options(tiny_sr_data, 'resume', TINY_IMDN, ARCHITECT, total_iter=8, iters_per_epoch=1)
    path = write_options(opt, tmp_path / 'resume.yml')

    reference = run_search(path, root=tmp_path / 'uninterrupted', progress=False)

    killed_root = tmp_path / 'killed'
    checkpoints = killed_root / 'experiments' / 'resume' / 'checkpoints'
    # Bit-identical floats need the same thread count as this process (the conftest fixture: 1 thread).
    env = dict(os.environ, OMP_NUM_THREADS=str(torch.get_num_threads()), MKL_NUM_THREADS=str(torch.get_num_threads()))
    proc = subprocess.Popen([sys.executable, '-m', 'srnas', 'search', '-opt', str(path), '--root', str(killed_root),
                             '--quiet'], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, env=env)
    deadline = time.time() + 600
    while not (checkpoints / 'epoch_00001.pth').exists():
        assert proc.poll() is None, 'search ended before it could be killed'
        assert time.time() < deadline, 'no checkpoint within 10 minutes'
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the process group we started
    proc.wait()
    assert not (checkpoints / 'epoch_00007.pth').exists(), 'the search finished before the kill'

    resumed = run_search(path, auto_resume=True, root=killed_root, progress=False)
    assert resumed['genotype'] == reference['genotype']
    assert [e['softmax'] for e in resumed['history']] == [e['softmax'] for e in reference['history']]
    final = torch.load(checkpoints / 'epoch_00007.pth', weights_only=False)['model']
    expected = torch.load(tmp_path / 'uninterrupted' / 'experiments' / 'resume' / 'checkpoints' / 'epoch_00007.pth',
                          weights_only=False)['model']
    for key, value in expected.items():
        assert torch.equal(final[key], value), key


@pytest.mark.slow
@pytest.mark.parametrize('genotype, num_feat', [
    ({'space': 'dlsr', 'ops': ['sep_conv_3x3', 'dil_conv_5x5', 'conv_3x3'], 'connections': [[2, 1], [3, 1], [4, 2], [1, 5]]}, 8),
    ({'space': 'imdn', 'ops': ['conv_3x3_bn', 'sep_conv_5x5', 'dil_sep_conv_3x3_bn', 'conv_5x5']}, 16),
], ids=['dlsr', 'imdn'])
def test_exported_torchscript_and_onnx_match_pytorch(tmp_path, genotype, num_feat):
    pytest.importorskip('onnxruntime')
    from srnas.commands.derive import child_network_options
    from srnas.commands.export import build_child, export_child, load_bundle
    from srnas.spaces.genotypes import save_genotype

    genotype_file = save_genotype(genotype, tmp_path / 'g.json')
    network = child_network_options(genotype, genotype_file, scale=3, num_feat=num_feat)
    torch.manual_seed(0)
    model = build_child(network)
    for module in model.modules():  # non-trivial BN statistics, so eval-mode BN is exercised
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    weights = tmp_path / 'w.pth'
    torch.save({'params': model.state_dict()}, weights)
    result = export_child(network, weights, tmp_path / 'out', sizes=((17, 23), (26, 19)))
    assert result['ok']
    for row in result['parity']:
        assert set(row['max_abs_diff']) == {'bundle', 'torchscript', 'onnx'}
        assert max(row['max_abs_diff'].values()) <= 1e-4
    # independent check: our own forward at a size not used in tracing, against the ONNX session
    import onnxruntime
    session = onnxruntime.InferenceSession(str(result['onnx']), providers=['CPUExecutionProvider'])
    x = torch.rand(1, 3, 21, 30)
    model.eval()
    with torch.no_grad():
        expected = model(x)
    got = torch.from_numpy(session.run(None, {'lr': x.numpy()})[0])
    assert got.shape == (1, 3, 63, 90)
    assert (got - expected).abs().max().item() <= 1e-4
    assert load_bundle(result['bundle']).genotype == genotype
