"""benchmarks/scaling.py --rounds: per-point medians over interleaved rounds, and the SR layout points build."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'benchmarks'))
import scaling  # noqa: E402


def test_point_medians_take_only_the_samples_of_that_point():
    nchw = {'space': 'dlsr', 'channels_last': False}
    nhwc = {'space': 'dlsr', 'channels_last': True}
    samples = [dict(nchw, wall_s=w, cpu_s=c, peak_extra_mb=m) for w, c, m in ((3, 1, 10), (9, 2, 30), (4, 7, 20))]
    samples += [dict(nhwc, wall_s=100, cpu_s=100, peak_extra_mb=100)]
    assert scaling.point_medians(samples, nchw) == {'rounds': 3, 'wall_s': 4, 'cpu_s': 2, 'peak_extra_mb': 20}
    assert scaling.point_medians(samples, nhwc)['rounds'] == 1


def test_sr_layout_points_build_the_layout_they_name():
    import torch
    for point in scaling.SWEEPS['sr_layout']:
        model, _, (lq, gt), _, _ = scaling.build(dict(point, patch=16))
        want = torch.channels_last if point['channels_last'] else torch.contiguous_format
        assert model.memory_format == want and type(model).space == point['space']
        assert gt.shape[-1] == 2 * lq.shape[-1] == 32
