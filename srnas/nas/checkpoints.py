"""Checkpoint files of a long run: names, order, rotation, format version, fingerprint and validated reading.

A checkpoint folder holds ``epoch_EEEEE.pth`` (the end of epoch E, 0-based)
and ``epoch_EEEEE_step_SSSSSSS.pth`` (S steps into epoch E), each with its
SHA-256 in ``<name>.sha256`` (checked on reading when present). Every file is
written by write-then-rename, so a name on disk is always a whole file; a
kill during a write leaves only a hidden temporary (``.epoch_...``), removed
by the next run (``remove_stale_temporaries``). Older files are deleted only
after the new one is in place, keeping the newest ``keep``.

Each checkpoint stores ``format`` (this module's ``CHECKPOINT_FORMAT``) and
``fingerprint``: the options a checkpoint cannot be resumed under a change of
(space, scale, supernet options and shapes, architect type). Reading one
checks both and raises one ``CheckpointError`` naming the file and what does
not match; ``load_first_usable`` walks the candidates newest first, setting
an unreadable file aside (``*.unusable``) and saying so, for ``--auto_resume``.
"""
import hashlib
import math
import random
import re
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch

from srnas.nas.errors import NASConfigError
from srnas.nas.files import atomic_torch_save, atomic_write_text, remove_interrupted_writes

CHECKPOINT_FORMAT = 2   # 2: fingerprint + mid-epoch progress; 1 (srnas 0.2): epoch ends only, no fingerprint
READABLE_FORMATS = (1, 2)
CHECKPOINT_GLOB = 'epoch_*.pth'
_NAME = re.compile(r'^epoch_(\d{5,})(?:_step_(\d{7,}))?\.pth$')


class CheckpointError(NASConfigError):
    """A checkpoint that cannot be resumed: unreadable, foreign to this run, or from a newer srnas."""


def checkpoint_name(epoch: int, step: Optional[int] = None) -> str:
    """``epoch_EEEEE.pth`` at the end of ``epoch``; ``epoch_EEEEE_step_SSSSSSS.pth`` ``step`` steps into it."""
    return f'epoch_{epoch:05d}.pth' if step is None else f'epoch_{epoch:05d}_step_{step:07d}.pth'


def checkpoint_position(path) -> Optional[Tuple[int, float]]:
    """(epoch, steps into it; ``inf`` at its end) from a checkpoint's name, None for other names."""
    match = _NAME.match(Path(path).name)
    if match is None:
        return None
    return int(match.group(1)), (math.inf if match.group(2) is None else int(match.group(2)))


def checkpoints_newest_first(folder) -> List[Path]:
    found = [p for p in Path(folder).glob(CHECKPOINT_GLOB) if checkpoint_position(p) is not None]
    return sorted(found, key=checkpoint_position, reverse=True)


def remove_stale_temporaries(*folders) -> List[Path]:
    """Temporaries left in a run's ``folders`` by a process killed while writing (see ``atomic_write``)."""
    return [path for folder in folders for path in remove_interrupted_writes(folder)]


def checksum_path(path) -> Path:
    return Path(path).with_name(Path(path).name + '.sha256')


def _sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for block in iter(lambda: handle.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def save_rotating(state: Dict[str, Any], folder, epoch: int, step: Optional[int], keep: int) -> Path:
    """Write ``state`` (plus ``format``) atomically with its SHA-256 next to it (``.sha256``: a flipped byte in
    tensor data loads without complaint otherwise), then delete all but the newest ``keep`` checkpoints."""
    path = Path(folder) / checkpoint_name(epoch, step)
    checksum_path(path).unlink(missing_ok=True)  # a rewrite must never be checked against the old digest
    atomic_torch_save({**state, 'format': CHECKPOINT_FORMAT}, path)
    atomic_write_text(checksum_path(path), _sha256(path) + '\n')
    for old in checkpoints_newest_first(folder)[keep:]:
        old.unlink(missing_ok=True)
        checksum_path(old).unlink(missing_ok=True)
    return path


# ----------------------------------------------------------------------------------------------
def rng_state() -> Dict[str, Any]:
    """Every global random generator a run draws from, for an exact mid-epoch resume."""
    import numpy as np
    state = {'python': random.getstate(), 'numpy': np.random.get_state(), 'torch': torch.get_rng_state()}
    if torch.cuda.is_available():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Dict[str, Any]) -> None:
    import numpy as np
    random.setstate(state['python'])
    np.random.set_state(state['numpy'])
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


# ----------------------------------------------------------------------------------------------
def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, torch.Size)):
        return [_plain(v) for v in value]
    return value


def _short(value, limit=80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + '...'


def _pair(old, new) -> str:
    """``old`` in the checkpoint, ``new`` in this run; long strings from just before where they differ."""
    if isinstance(old, str) and isinstance(new, str) and max(len(old), len(new)) > 60:
        start = next((i for i, (a, b) in enumerate(zip(old, new)) if a != b), min(len(old), len(new)))
        start = max(start - 10, 0)
        old, new = ('...' if start else '') + old[start:], ('...' if start else '') + new[start:]
    return f'{_short(old)} in the checkpoint, {_short(new)} in this run'


def fingerprint_mismatch(stored: Dict[str, Any], current: Dict[str, Any]) -> Optional[str]:
    """The first difference between two fingerprints, in words, or None when they agree."""
    stored, current = _plain(stored), _plain(current)
    for key in sorted(set(stored) | set(current)):
        old, new = stored.get(key), current.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            for sub in sorted(set(old) | set(new)):
                if old.get(sub) != new.get(sub):
                    return f'{key}.{sub} is {_pair(old.get(sub), new.get(sub))}'
        return f'{key} is {_pair(old, new)}'
    return None


def read_checkpoint(path, fingerprint: Optional[Dict[str, Any]] = None, map_location='cpu') -> Dict[str, Any]:
    """Load and check one checkpoint; any problem is one ``CheckpointError`` naming ``path``."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f'checkpoint {path} does not exist')
    digest_file = checksum_path(path)
    if digest_file.is_file():  # absent: written before checksums, or killed between the two renames
        expected = digest_file.read_text().strip()
        if expected and _sha256(path) != expected:
            raise CheckpointError(f'checkpoint {path} cannot be read: its content does not match its checksum '
                                  f'{digest_file.name} (truncated or damaged on disk)')
    try:
        # our own files hold optimizer/RNG/scheduler objects, which weights_only=True refuses
        state = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as error:  # truncated zip, random bytes, a pickle of something else: all unreadable
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CheckpointError(f'checkpoint {path} cannot be read (truncated or not a checkpoint): '
                              f'{type(error).__name__}: {reason}') from None
    if not isinstance(state, dict) or 'format' not in state:
        raise CheckpointError(f'checkpoint {path} is not an srnas checkpoint (no format version)')
    version = state['format']
    if not isinstance(version, int) or version > CHECKPOINT_FORMAT:
        raise CheckpointError(f'checkpoint {path} has format {version!r}, written by a newer srnas; '
                              f'this version reads formats {list(READABLE_FORMATS)}')
    if version not in READABLE_FORMATS:
        raise CheckpointError(f'checkpoint {path} has format {version!r}; this version reads {list(READABLE_FORMATS)}')
    if fingerprint is not None:
        stored = state.get('fingerprint')
        if stored is None:  # format 1 knew only the space
            stored = {key: state[key] for key in ('space',) if key in state}
            fingerprint = {key: fingerprint[key] for key in stored if key in fingerprint}
        problem = fingerprint_mismatch(stored, fingerprint)
        if problem:
            raise CheckpointError(f'checkpoint {path} belongs to another run: {problem}')
    return state


def load_first_usable(candidates: Sequence, fingerprint: Dict[str, Any], apply: Callable[[Dict[str, Any]], Any],
                      log: Callable[[str], None], set_aside: bool = True):
    """``apply(state)`` of the newest candidate that reads, matches and applies; returns (path, result).

    A candidate that fails is logged (and, if unreadable, renamed ``*.unusable`` so it is not tried or
    counted again); when none is usable the newest one's error is raised.
    """
    first_error = None
    for index, path in enumerate(candidates):
        try:
            state = read_checkpoint(path, fingerprint)
            try:
                return Path(path), apply(state)
            except CheckpointError:
                raise
            except (NASConfigError, RuntimeError, KeyError, TypeError, ValueError) as error:  # load_state_dict
                raise CheckpointError(f'checkpoint {path} does not fit this run: '
                                      f'{str(error).strip().splitlines()[0]}') from None
        except CheckpointError as error:
            first_error = first_error or error
            if index + 1 == len(candidates):
                break
            note = ''
            if set_aside and 'cannot be read' in str(error):
                aside = Path(path).with_name(Path(path).name + '.unusable')
                Path(path).replace(aside)
                checksum_path(path).unlink(missing_ok=True)
                note = f' (renamed to {aside.name})'
            log(f'{error}{note}; falling back to the previous checkpoint {candidates[index + 1]}')
    if first_error is None:
        raise CheckpointError('no checkpoint to resume from')
    raise first_error
