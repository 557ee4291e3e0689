"""Kill-anywhere, short version (issue 11): real runs as subprocesses, SIGKILLed (during a checkpoint write too),
resumed, and compared with an uninterrupted run. benchmarks/kill_anywhere.py runs the long version (all kinds:
classification search and training and ``srnas train`` too); tests/classification/test_train_resume.py and
tests/nas/test_checkpoints_numerics.py check exact resume from every checkpoint in-process."""
import pytest

from tests.faults.harness import prepare_kind, sr_search_kind, trial

pytestmark = pytest.mark.slow


def test_sr_search_killed_during_a_write_and_at_random_resumes_bit_identically(tmp_path):
    report = trial(sr_search_kind(total_iter=8, iters_per_epoch=4, every=2), tmp_path, kills=2, seed=0,
                   modes=['write', 'time'])
    # trial raises unless genotype, alphas, weights and per-epoch losses equal the uninterrupted run's
    assert report.identical and report.kills_during_write >= 1


def test_prepare_div2k_killed_during_a_write_and_rerun_gives_the_same_files(tmp_path):
    report = trial(prepare_kind(images=2), tmp_path, kills=1, seed=0, modes=['write'])
    assert report.identical and report.kills_during_write == 1
