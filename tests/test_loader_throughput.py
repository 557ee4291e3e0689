"""benchmarks/loader_throughput.py: its timing arithmetic, and the SR pipeline it times reads disk and LMDB alike."""
import random
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'benchmarks'))
import loader_throughput  # noqa: E402


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def _slow_loader(clock, first_s, each_s, count):
    for index in range(count):
        clock.now += first_s if index == 0 else each_s
        yield index


def test_time_batches_separates_start_up_from_the_steady_rate():
    clock = FakeClock()
    result = loader_throughput.time_batches(_slow_loader(clock, 5.0, 0.25, 20), 8, clock=clock)
    assert result == {'first_batch_s': 5.0, 'batches_per_s': 4.0, 'batches': 8}


def test_time_batches_stops_at_the_end_of_a_short_loader_and_rejects_a_single_batch():
    clock = FakeClock()
    result = loader_throughput.time_batches(_slow_loader(clock, 1.0, 0.5, 3), 10, clock=clock)
    assert result['batches'] == 2 and result['batches_per_s'] == pytest.approx(2.0)
    with pytest.raises(ValueError, match='only one batch'):
        loader_throughput.time_batches(_slow_loader(clock, 1.0, 0.5, 1), 10, clock=clock)


def test_keeps_up_counts_two_batches_per_search_iteration():
    # 3 batches/s against 1 iteration per 2 s (1 batch/s consumed): the loader is 3x faster than needed
    assert loader_throughput.keeps_up(3.0, 2.0) == pytest.approx(3.0)
    assert loader_throughput.keeps_up(1.0, 1.0) == pytest.approx(0.5)


def test_sr_pipeline_gives_the_same_batches_from_disk_and_lmdb(tmp_path):
    import cv2
    photos = tmp_path / 'photos'
    photos.mkdir()
    rng = np.random.default_rng(0)
    for index in range(2):
        image = cv2.resize(rng.integers(0, 256, (60, 60, 3), dtype=np.uint8), (480, 480))
        cv2.imwrite(str(photos / f'{index + 1:04d}.png'), image)
    sources = loader_throughput.prepare_sr(photos, tmp_path / 'sr')
    batches = {}
    for backend, source in sources.items():
        loader, size = loader_throughput.sr_loader(source, gt_size=32, batch=2, workers=0, num_batches=2)
        assert size == 2  # one 480x480 sub-image per photo
        random.seed(0)  # BasicSR's random crops and flips draw from Python's random in the loading process
        batches[backend] = list(loader)
    assert len(batches['disk']) == 2
    for disk, lmdb in zip(batches['disk'], batches['lmdb']):
        assert disk['gt'].shape == (2, 3, 32, 32) and disk['lq'].shape == (2, 3, 16, 16)
        torch.testing.assert_close(lmdb['gt'], disk['gt'], rtol=0, atol=0)
        torch.testing.assert_close(lmdb['lq'], disk['lq'], rtol=0, atol=0)
