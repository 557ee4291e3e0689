"""Fixtures for the classification tests."""
import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Run each test with one torch thread (restored afterwards): the tiny networks here are dominated by
    per-op overhead, and on a shared 2-core machine OpenMP threads only contend (measured ~5x slower)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
