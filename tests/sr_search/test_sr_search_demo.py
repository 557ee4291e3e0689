"""The search demo wires search -> derive -> retrain -> evaluation together (tiny settings)."""
import pytest


@pytest.mark.slow
def test_search_demo_runs_end_to_end(tmp_path, capsys):
    from srnas.demo.search_demo import run_search_demo
    from srnas.spaces.genotypes import load_genotype
    result = run_search_demo(tmp_path, retrain_iters=4, progress=False,
                             search_overrides=['train:total_iter=2', 'search:iters_per_epoch=1',
                                               'architect:warmup_epochs=0'])
    out = capsys.readouterr().out
    assert 'Bicubic' in out and 'searched child' in out and 'Multi-Adds' in out and 'alpha evolution plots' in out
    assert set(result['metrics']) == {'Bicubic', 'searched child (4 it)'}
    assert result['complexity']['params'] > 0 and result['weights'].is_file()
    assert all(p.is_file() for p in map(__import__('pathlib').Path, result['plots']))
    assert load_genotype(str(result['search']['genotype_file'])) == result['genotype']
    # the demo prints how clearly each position was decided: top-1 minus top-2 of the final softmax(alpha)
    last = result['search']['history'][-1]
    line = next(x for x in out.splitlines() if 'top-1 minus top-2' in x)
    for op, row in zip(last['genotype']['ops'], last['softmax']['alpha']):
        top = sorted(row)
        assert f'{op} +{top[-1] - top[-2]:.3f}' in line
    assert f"stable since epoch {result['search']['stable_since_epoch']} of" in out
