"""CIFAR-10/100 from the standard python pickles, read by torchvision (never downloading).

torchvision checks each file's md5 against the official archive. Pass
``verify_md5=False`` to accept files with the same layout but other content
(a subset, or files written by a test); the layout is still checked.
"""
from pathlib import Path

import numpy as np
from torchvision import datasets

from classification.data.errors import DataError

_FOLDERS = {'cifar10': 'cifar-10-batches-py', 'cifar100': 'cifar-100-python'}


def _dataset_class(name):
    return {'cifar10': datasets.CIFAR10, 'cifar100': datasets.CIFAR100}[name]


def _find_root(name, root):
    """Accept the parent of ``cifar-10-batches-py`` or that folder itself."""
    root = Path(root)
    folder = _FOLDERS[name]
    if (root / folder).is_dir():
        return root
    if root.name == folder and root.is_dir():
        return root.parent
    raise DataError(f"{name}: folder '{folder}' not found under {root} (expected the standard python-pickle "
                    f"archive extracted there; nothing is downloaded)")


def load_cifar(name, root, train, transform=None, verify_md5=True):
    """The torchvision CIFAR data set, with a clear error for missing or malformed files."""
    if name not in _FOLDERS:
        raise DataError(f"unknown CIFAR variant '{name}'; known: {', '.join(_FOLDERS)}")
    root = _find_root(name, root)
    base = _dataset_class(name)
    folder = root / _FOLDERS[name]
    files = [f for f, _ in (base.train_list if train else base.test_list)] + [base.meta['filename']]
    missing = [f for f in files if not (folder / f).is_file()]
    if missing:
        raise DataError(f'{folder}: missing files {missing}')

    class _Unverified(base):
        # None as md5 makes torchvision's integrity check test presence only.
        train_list = [[f, None] for f, _ in base.train_list]
        test_list = [[f, None] for f, _ in base.test_list]
        meta = {**base.meta, 'md5': None}

    cls = base if verify_md5 else _Unverified
    try:
        dataset = cls(str(root), train=train, transform=transform, download=False)
    except RuntimeError as err:
        hint = ' (md5 mismatch: set data.verify_md5: false to accept non-official files)' if verify_md5 else ''
        raise DataError(f'{folder}: {err}{hint}') from None
    except (KeyError, ValueError, EOFError, OSError, TypeError) as err:
        # torchvision raises these on a pickle without 'data'/'labels' or of the wrong size
        raise DataError(f'{folder}: malformed CIFAR pickle ({type(err).__name__}: {err})') from None
    except Exception as err:  # pickle.UnpicklingError and friends
        raise DataError(f'{folder}: cannot read CIFAR pickles ({type(err).__name__}: {err})') from None
    num_classes = 10 if name == 'cifar10' else 100
    targets = np.asarray(dataset.targets)
    if len(targets) != len(dataset.data) or targets.min() < 0 or targets.max() >= num_classes:
        raise DataError(f'{folder}: labels must be {len(dataset.data)} ints in [0, {num_classes - 1}]')
    return dataset
