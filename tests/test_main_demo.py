"""``make demo``'s job: search -> retrain the child -> compare with a small IMDN and bicubic (tiny settings)."""
import pytest


@pytest.mark.slow
def test_main_demo_compares_child_with_imdn_and_bicubic(tmp_path, capsys):
    from srnas.archs.imdn_arch import SRNASIMDN
    from srnas.demo.main_job import run_main_demo
    from srnas.evaluation.complexity import count_params
    rows = run_main_demo(tmp_path, iters=4, progress=False,
                         search_overrides=['train:total_iter=2', 'search:iters_per_epoch=1',
                                           'architect:warmup_epochs=0'])
    labels = list(rows)
    assert labels[0] == 'Bicubic' and labels[1].startswith('IMDN small') and labels[2].startswith('searched child')
    # the baseline row reports the size of the demo IMDN, counted here independently
    assert rows[labels[1]][1]['params'] == count_params(SRNASIMDN(upscale=2, num_feat=32, num_blocks=4))
    # bicubic has no network, hence no params or Multi-Adds
    assert rows['Bicubic'][1] is None
    table = capsys.readouterr().out
    for label in labels:
        assert f'| {label} |' in table
    assert 'alpha evolution plots' in table
