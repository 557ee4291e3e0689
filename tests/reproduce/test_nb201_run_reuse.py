"""reproduce.nb201_search.run_one reuses a finished run only at the scale it was made with."""
import json

import pytest

from reproduce.common import ReproduceError
from reproduce.nb201_search import run_one


def test_a_finished_run_is_reused_at_its_scale_and_refused_at_another(tmp_path):
    runs = tmp_path / 'runs'
    runs.mkdir()
    finished = {'method': 'sa', 'seed': 0, 'scale': 'cpu', 'final': {'arch': 'x'}}
    (runs / 'skipinit_sa_seed0.result.json').write_text(json.dumps(finished))
    assert run_one('sa', 0, 'cpu', tmp_path, tmp_path / 'unused.csv', tag='skipinit_sa') == finished
    with pytest.raises(ReproduceError, match=r'skipinit_sa_seed0.result.json holds a --scale cpu run, not smoke'):
        run_one('sa', 0, 'smoke', tmp_path, tmp_path / 'unused.csv', tag='skipinit_sa')
