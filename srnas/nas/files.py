"""Write-then-rename file output and JSON/YAML mapping I/O with clear errors."""
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Callable, Mapping

from srnas.nas.errors import NASConfigError

YAML_SUFFIXES = ('.yml', '.yaml')


def atomic_write(path, write: Callable[[str], None]) -> Path:
    """Call ``write(tmp_path)`` on a temporary file next to ``path``, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{path.name}.', suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        # mkstemp creates the file 0600; give it the mode a plain open() would (0666 less the umask)
        os.chmod(tmp, 0o666 & ~_current_umask())
        _fault_pause(path)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


_TEMPORARY = re.compile(r'^\.(?P<name>.+)\.[a-z0-9_]{8}(?P<suffix>\.[^.]*)?$')


def remove_interrupted_writes(folder) -> list:
    """Delete the temporaries ``atomic_write`` left in ``folder`` when its process was killed mid-write
    (``.<name>.<8 random chars><suffix>``); only for folders no other running process writes to."""
    removed = []
    folder = Path(folder)
    if not folder.is_dir():
        return removed
    for path in folder.iterdir():
        match = _TEMPORARY.match(path.name)
        if match and path.is_file() and match.group('name').endswith(match.group('suffix') or ''):
            path.unlink(missing_ok=True)
            removed.append(path)
    return sorted(removed)


def _fault_pause(path: Path) -> None:
    """Fault harness only (benchmarks/kill_anywhere.py, tests/faults): with SRNAS_FAULT_PAUSE_BEFORE_RENAME=<s>
    announce the rename on stderr and wait, so a kill can land between the write and the rename."""
    pause = os.environ.get('SRNAS_FAULT_PAUSE_BEFORE_RENAME')
    if pause:
        import sys
        import time
        print(f'srnas-fault: renaming {path}', file=sys.stderr, flush=True)
        time.sleep(float(pause))


def _current_umask() -> int:
    mask = os.umask(0o022)  # the only portable way to read it is to set it and set it back
    os.umask(mask)
    return mask


def atomic_write_text(path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` by write-then-rename."""
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding='utf-8'))


def atomic_torch_save(obj, path) -> Path:
    """``torch.save`` by write-then-rename: a checkpoint on disk is always complete."""
    import torch
    return atomic_write(path, lambda tmp: torch.save(obj, tmp))


def write_mapping(path, data: Mapping[str, Any]) -> Path:
    """JSON, or YAML for ``.yml``/``.yaml`` paths."""
    path = Path(path)
    if path.suffix.lower() in YAML_SUFFIXES:
        import yaml
        text = yaml.safe_dump(_plain(data), sort_keys=False)
    else:
        text = json.dumps(_plain(data), indent=2) + '\n'
    return atomic_write_text(path, text)


def read_mapping(path, what: str = 'file') -> dict:
    """Read a JSON/YAML mapping; any problem is one ``NASConfigError`` naming the file."""
    path = Path(path)
    if not path.is_file():
        raise NASConfigError(f'{what} {path} does not exist')
    try:
        text = path.read_text(encoding='utf-8')
        if path.suffix.lower() in YAML_SUFFIXES:
            import yaml
            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as error:  # json.JSONDecodeError (a ValueError), UnicodeDecodeError, yaml.YAMLError
        kind = 'YAML' if path.suffix.lower() in YAML_SUFFIXES else 'JSON'
        raise NASConfigError(f'{what} {path} is not valid {kind}: {error}') from None
    if not isinstance(data, dict):
        raise NASConfigError(f'{what} {path} must hold a mapping at the top level, got {type(data).__name__}')
    return data


def _plain(value):
    """Tuples/namedtuples -> lists, so JSON and YAML get plain types."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, 'item') and callable(value.item):  # numpy / torch scalars
        return value.item()
    return value
