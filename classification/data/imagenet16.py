"""Downsampled ImageNet 16x16 (ImageNet16-120 of NAS-Bench-201) from its python pickles.

Train: ``train_data_batch_1..10``; test: ``val_data``. Each is a pickle
``{'data': uint8 [N, 768] (R, G, B planes of 16x16), 'labels': 1-based}``.
ImageNet16-120 keeps the samples with label 1..120 in file order and maps
them to 0..119 (151,700 train / 6,000 val images).
"""
import pickle
from pathlib import Path

import numpy as np

from classification.data.arrays import ImageArrayDataset
from classification.data.errors import DataError

TRAIN_FILES = [f'train_data_batch_{i}' for i in range(1, 11)]
VALID_FILE = 'val_data'


class ImageNet16(ImageArrayDataset):
    def __init__(self, root, train, transform=None, num_classes=120):
        root = Path(root)
        files = TRAIN_FILES if train else [VALID_FILE]
        missing = [f for f in files if not (root / f).is_file()]
        if missing:
            raise DataError(f'ImageNet16: missing files {missing} under {root}')
        data, labels = [], []
        for name in files:
            try:
                with open(root / name, 'rb') as handle:
                    entry = pickle.load(handle, encoding='latin1')
                batch = np.asarray(entry['data'], dtype=np.uint8)
                batch_labels = np.asarray(entry['labels'], dtype=np.int64)
            except (pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError) as err:
                raise DataError(f'{root / name}: malformed ImageNet16 pickle ({type(err).__name__}: {err})') from None
            if batch.ndim != 2 or batch.shape[1] != 3 * 16 * 16 or len(batch) != len(batch_labels):
                raise DataError(f"{root / name}: 'data' must be [N, 768] with N labels, got {batch.shape}")
            keep = (batch_labels >= 1) & (batch_labels <= num_classes)
            data.append(batch[keep])
            labels.append(batch_labels[keep] - 1)
        self.data = np.concatenate(data).reshape(-1, 3, 16, 16).transpose(0, 2, 3, 1)  # HWC
        self.targets = np.concatenate(labels).tolist()
        self.transform = transform
        self.num_classes = num_classes
