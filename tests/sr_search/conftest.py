"""Fixtures of the SR search tests: tiny real-photo paired data, one torch thread (helpers: sr_helpers.py)."""
import numpy as np
import pytest


def _write_pairs(folder, photos, scale, size):
    import cv2
    from basicsr.utils.matlab_functions import imresize
    import skimage.data
    (folder / 'GT').mkdir(parents=True, exist_ok=True)
    (folder / 'LR').mkdir(parents=True, exist_ok=True)
    for name in photos:
        img = getattr(skimage.data, name)()
        img = img[:, :, :3] if img.ndim == 3 else np.repeat(img[:, :, None], 3, axis=2)
        h, w = img.shape[:2]
        for k, (y, x) in enumerate([(h // 4, w // 4), (h // 2, w // 3)]):
            hr = np.ascontiguousarray(img[y:y + size, x:x + size, ::-1])  # BGR for cv2
            lr = imresize(hr.astype(np.float64) / 255.0, 1 / scale)
            cv2.imwrite(str(folder / 'GT' / f'{name}_{k}.png'), hr)
            cv2.imwrite(str(folder / 'LR' / f'{name}_{k}.png'), np.clip(lr * 255.0 + 0.5, 0, 255).astype(np.uint8))


@pytest.fixture(scope='session')
def tiny_sr_data(tmp_path_factory):
    """x2 pairs: 'train' (astronaut, coffee crops) and 'arch' (chelsea, rocket crops), HR 64x64."""
    from srnas.basicsr_compat import import_basicsr
    import_basicsr()
    root = tmp_path_factory.mktemp('tiny_sr')
    _write_pairs(root / 'train', ['astronaut', 'coffee'], 2, 64)
    _write_pairs(root / 'arch', ['chelsea', 'rocket'], 2, 64)
    return root


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One CPU thread per test: on the shared 2-core machine competing OpenMP threads slow runs many-fold."""
    import torch
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
