"""NAS-Bench-201 split files (``cifar-split.txt`` etc.) and the half split used by DARTS-style searches.

A split file is JSON whose values are ``["int", ["0", "5", ...]]``: sorted
decimal strings indexing a data set. ``cifar-split.txt`` holds ``train`` and
``valid`` halves of the CIFAR-10 training set (random.seed(1021) shuffle).
"""
import json
import random
from pathlib import Path

from classification.data.errors import DataError
from srnas.nas.files import atomic_write_text

NB201_CIFAR_SPLIT_SEED = 1021


def load_split_file(path):
    """Read a split file -> ``{key: [int, ...]}``."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f'split file {path} does not exist')
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise DataError(f'split file {path}: not JSON ({err})') from None
    if not isinstance(raw, dict) or not raw:
        raise DataError(f'split file {path}: expected a JSON object of named index lists')
    split = {}
    for key, value in raw.items():
        if not (isinstance(value, list) and len(value) == 2 and value[0] == 'int' and isinstance(value[1], list)):
            raise DataError(f"split file {path}: '{key}' must be [\"int\", [\"0\", ...]]")
        try:
            split[key] = [int(v) for v in value[1]]
        except (TypeError, ValueError):
            raise DataError(f"split file {path}: '{key}' holds a non-integer index") from None
    return split


def write_split_file(split, path):
    """Write ``{key: [int, ...]}`` in the NB201 format (write-then-rename)."""
    path = Path(path)
    payload = {k: ['int', [str(i) for i in sorted(v)]] for k, v in split.items()}
    return atomic_write_text(path, json.dumps(payload))


def half_split(size, seed=NB201_CIFAR_SPLIT_SEED):
    """Shuffle ``range(size)`` with ``seed``; first half -> train, rest -> valid, each sorted.

    With size 50000 and the default seed this is NAS-Bench-201's ``cifar-split.txt``.
    """
    order = list(range(size))
    random.Random(seed).shuffle(order)
    half = size // 2
    return {'train': sorted(order[:half]), 'valid': sorted(order[half:])}


def check_split(split, keys, size, where):
    """Indices must exist and be in range of the data set they index."""
    for key in keys:
        if key not in split:
            raise DataError(f"{where}: split has no '{key}' list (keys: {sorted(split)})")
        bad = [i for i in split[key] if not 0 <= i < size]
        if bad:
            raise DataError(f"{where}: '{key}' index {bad[0]} is outside a data set of {size} images")
    return split
