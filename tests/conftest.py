"""Shared fixtures: where the real data that CI provides lives."""
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / 'shared' / 'data'


@pytest.fixture(scope='session')
def shared_data():
    """Path to ../shared/data; tests that need it are skipped where it is absent (CI has it)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f'real data folder {SHARED_DATA} not present')
    return SHARED_DATA
