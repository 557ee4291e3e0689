"""Write-then-rename output: files come out complete and with the mode a plain write gives."""
import os
import stat

import pytest
import torch

from srnas.nas.files import atomic_torch_save, atomic_write_text, write_mapping


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize('umask', [0o022, 0o002, 0o077])
def test_written_files_have_the_mode_of_a_plain_open(tmp_path, umask):
    previous = os.umask(umask)
    try:
        with open(tmp_path / 'plain.txt', 'w') as handle:
            handle.write('x')
        atomic_write_text(tmp_path / 'a.txt', 'x')
        atomic_torch_save({'w': torch.zeros(2)}, tmp_path / 'b.pth')
        write_mapping(tmp_path / 'c.json', {'k': 1})
    finally:
        os.umask(previous)
    expected = _mode(tmp_path / 'plain.txt')
    assert expected == 0o666 & ~umask
    for name in ('a.txt', 'b.pth', 'c.json'):
        assert _mode(tmp_path / name) == expected, name


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / 'ckpt.txt'
    atomic_write_text(target, 'good')

    class Boom:
        def __reduce__(self):
            raise RuntimeError('cannot pickle')

    with pytest.raises(RuntimeError):
        atomic_torch_save({'bad': Boom()}, target)
    assert target.read_text() == 'good'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['ckpt.txt']
