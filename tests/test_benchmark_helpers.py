"""The arithmetic behind benchmarks/side_by_side.py and benchmarks/scaling.py (no timing here)."""
import subprocess
import sys
from pathlib import Path

import pytest
import torch

BENCHMARKS = Path(__file__).resolve().parents[1] / 'benchmarks'
sys.path.insert(0, str(BENCHMARKS))

import peak_memory  # noqa: E402
import scaling  # noqa: E402
import side_by_side  # noqa: E402


def _simulated_ring_allreduce(values, ranks):
    """Run a ring all-reduce chunk by chunk; return (every rank's result, elements each rank sent)."""
    chunks = [[list(v[c::ranks]) for c in range(ranks)] for v in values]  # rank -> chunk -> elements
    sent = [0] * ranks
    for step in range(ranks - 1):  # reduce-scatter: rank r sends chunk (r - step) to r + 1, which adds it
        outgoing = [(r, (r - step) % ranks, list(chunks[r][(r - step) % ranks])) for r in range(ranks)]
        for r, c, data in outgoing:
            dst = (r + 1) % ranks
            chunks[dst][c] = [a + b for a, b in zip(chunks[dst][c], data)]
            sent[r] += len(data)
    for step in range(ranks - 1):  # all-gather: rank r forwards its complete chunk (r + 1 - step)
        outgoing = [(r, (r + 1 - step) % ranks, list(chunks[r][(r + 1 - step) % ranks])) for r in range(ranks)]
        for r, c, data in outgoing:
            chunks[(r + 1) % ranks][c] = data
            sent[r] += len(data)
    results = []
    for r in range(ranks):
        out = [0] * len(values[0])
        for c in range(ranks):
            out[c::ranks] = chunks[r][c]
        results.append(out)
    return results, sent


@pytest.mark.parametrize('ranks', [2, 3, 8])
def test_ring_cost_model_matches_a_simulated_ring(ranks):
    size = 8 * ranks
    values = [[float(r * 100 + i) for i in range(size)] for r in range(ranks)]
    results, sent = _simulated_ring_allreduce(values, ranks)
    total = [sum(v[i] for v in values) for i in range(size)]
    assert all(result == total for result in results)
    # Zero latency: time = elements sent per rank / bandwidth (1 element = 1 byte here).
    for per_rank in sent:
        assert scaling.ring_allreduce_s(size, ranks, 1e-9, 0.0) == pytest.approx(per_rank)
    # Latency: one per step, 2 (N - 1) steps.
    assert scaling.ring_allreduce_s(0, ranks, 1.0, 1e6) == pytest.approx(2 * (ranks - 1))


def test_darts_gradient_bytes_match_the_published_parameter_count():
    rows = {row['model']: row for row in scaling.communication()}
    darts = rows['DARTS C=16, 8 cells']
    assert darts['weight_grad_bytes'] == 1_930_618 * 4  # "param size 1.930618MB" in DARTS search logs
    assert darts['alpha_grad_bytes'] == 2 * 14 * 8 * 4
    first, a2m = darts['per_iteration']['first_order'], darts['per_iteration']['a2m']
    assert a2m['bytes'] - first['bytes'] == 3 * darts['alpha_grad_bytes']


def test_peak_memory_sees_a_torch_allocation():
    # In a fresh process, as the benchmarks use it: a long test process may serve the block from pages it
    # already holds, and then the resident set (rightly) does not grow.
    if not peak_memory.reset_peak_rss():
        pytest.skip('this kernel does not allow resetting the peak RSS')
    code = ('import sys, torch; sys.path.insert(0, sys.argv[1]); import peak_memory\n'
            'with peak_memory.PeakMemory() as peak:\n'
            '    block = torch.ones(64 * 2**20 // 4)  # 64 MiB, touched\n'
            '    del block\n'
            'print(peak.extra_mb)')
    out = subprocess.run([sys.executable, '-c', code, str(BENCHMARKS)], capture_output=True, text=True, check=True)
    assert 56 < float(out.stdout.strip().splitlines()[-1]) < 200


def test_side_by_side_ratios_are_per_round_medians():
    def sample(wall, mb):
        return {'wall_s': wall, 'cpu_s': wall / 2, 'peak_extra_mb': mb, 'first_call_s': wall}
    samples = {'darts_fwd_bwd': {'official': [sample(2.0, 100), sample(4.0, 100), sample(3.0, 200)],
                                 'srnas': [sample(1.0, 50), sample(3.0, 80), sample(3.0, 100)]}}
    row = side_by_side.summarise(samples, ['official', 'srnas'])['darts_fwd_bwd']['srnas']
    assert row['wall_s'] == 3.0
    assert row['time_ratio'] == pytest.approx(0.75)  # rounds: 0.5, 0.75, 1.0
    assert row['memory_ratio'] == pytest.approx(0.5)  # rounds: 0.5, 0.8, 0.5


def test_side_by_side_rejects_bad_impls_and_a_missing_official_root(tmp_path):
    with pytest.raises(SystemExit, match='srnas\\+fast'):
        side_by_side.parse_impls('official,srnas+fast', tmp_path)
    with pytest.raises(SystemExit, match='no --official-root'):
        side_by_side.parse_impls('official,srnas', None)
    with pytest.raises(SystemExit, match='lacks'):
        side_by_side.parse_impls('official,srnas', tmp_path)
    assert side_by_side.parse_impls('srnas+naive,srnas+cl+bf16', None) == ['srnas+naive', 'srnas+cl+bf16']



@pytest.mark.parametrize('modifiers, none_runs', [({'naive'}, True), (set(), False)])
def test_side_by_side_srnas_step_runs_and_honours_naive(monkeypatch, modifiers, none_runs):
    from classification.ops import Zero
    calls = []
    forward = Zero.forward
    monkeypatch.setattr(Zero, 'forward', lambda self, x: calls.append(1) or forward(self, x))
    torch.manual_seed(0)
    side_by_side.srnas_step('nb201_fwd_bwd', modifiers, batch_size=2, device=torch.device('cpu'))()
    assert bool(calls) == none_runs


def test_aten_op_counter_counts_forward_and_backward_ops_and_views():
    from aten_op_count import AtenOpCounter
    x = torch.randn(3, 4, requires_grad=True)
    with AtenOpCounter() as count:
        y = x.t().relu()
        for _ in range(3):
            y = y + 1
        y.sum().backward()
    assert count.by_op['add'] == 3
    assert count.by_op['t'] >= 2  # x.t() and its backward
    assert count.by_op['threshold_backward'] == 1  # relu's backward ran under the mode
    assert count.views >= count.by_op['t']
    assert count.kernels == count.total - count.views
    assert count.summary()['aten_kernels'] == count.kernels


def test_side_by_side_image_size_sets_the_input_and_the_step_runs():
    (xv, _), (xt, _) = side_by_side.make_batches(2, image_size=8)
    assert xv.shape == xt.shape == (2, 3, 8, 8)
    torch.manual_seed(0)
    side_by_side.srnas_step('darts_fwd_bwd', set(), batch_size=2, device=torch.device('cpu'), image_size=8)()


def test_side_by_side_before_impl_needs_a_srnas_checkout(tmp_path):
    with pytest.raises(SystemExit, match='needs --before-root'):
        side_by_side.parse_impls('before,srnas', None, None)
    with pytest.raises(SystemExit, match='needs --before-root'):
        side_by_side.parse_impls('before', None, tmp_path)
    (tmp_path / 'srnas' / 'nas').mkdir(parents=True)
    (tmp_path / 'srnas' / 'nas' / 'mixed_op.py').write_text('')
    assert side_by_side.parse_impls('before+plain,srnas', None, tmp_path) == ['before+plain', 'srnas']


def test_side_by_side_from_json_takes_ratios_against_the_chosen_base(tmp_path, capsys):
    from srnas.nas.files import write_mapping

    def sample(cpu):
        return {'wall_s': cpu, 'cpu_s': cpu, 'peak_extra_mb': 10.0, 'first_call_s': cpu, 'loadavg_1min': 1.0}

    path = tmp_path / 'run.json'
    write_mapping(path, {'args': {'impls': 'official,before,srnas'},
                         'samples': {'darts_fwd_bwd': {'official': [sample(2.0)], 'before': [sample(4.0)],
                                                       'srnas': [sample(3.0)]}}})
    side_by_side.print_saved(path, base='before')
    table = capsys.readouterr().out
    assert '| darts_fwd_bwd | srnas | 3.000 | 3.000 | 10 | 0.75x | 0.75x | 1.00x |' in table
    assert '| darts_fwd_bwd | official | 2.000 | 2.000 | 10 | 0.50x | 0.50x | 1.00x |' in table
    with pytest.raises(SystemExit, match='--base plain is not one of'):
        side_by_side.print_saved(path, base='plain')
