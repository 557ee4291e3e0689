"""Tiny real-photo paired data and option files for the SR search tests."""
import copy
from pathlib import Path

import numpy as np
import pytest
import yaml


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


def search_options(data_root, name, network, architect, total_iter=4, iters_per_epoch=2, seed=0):
    def paired(split):
        return {'name': f'tiny_{split}', 'type': 'PairedImageDataset',
                'dataroot_gt': str(Path(data_root) / split / 'GT'), 'dataroot_lq': str(Path(data_root) / split / 'LR'),
                'io_backend': {'type': 'disk'}, 'gt_size': 32, 'use_hflip': True, 'use_rot': True,
                'num_worker_per_gpu': 0, 'batch_size_per_gpu': 2}
    return {
        'name': name, 'model_type': 'SRNASSearchModel', 'scale': 2, 'num_gpu': 0, 'manual_seed': seed,
        'datasets': {'train': paired('train'), 'train_arch': paired('arch')},
        'network_g': copy.deepcopy(network),
        'search': {'iters_per_epoch': iters_per_epoch},
        'architect': copy.deepcopy(architect),
        'train': {'optim_g': {'type': 'Adam', 'lr': 5e-4, 'weight_decay': 1e-8, 'betas': [0.9, 0.999]},
                  'total_iter': total_iter,
                  'pixel_opt': {'type': 'L1Loss', 'loss_weight': 1.0, 'reduction': 'mean'}},
        'logger': {'print_freq': 1, 'save_checkpoint_freq': 1, 'use_tb_logger': False},
    }


def write_options(opt, path):
    path = Path(path)
    path.write_text(yaml.safe_dump(opt, sort_keys=False))
    return path


TINY_IMDN = {'type': 'SRNASIMDNSupernet', 'upscale': 2, 'num_feat': 16, 'num_blocks': 1, 'partial_k': 4}
TINY_DLSR = {'type': 'SRNASDLSRSupernet', 'upscale': 2, 'num_feat': 8, 'partial_k': 2}


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One CPU thread per test: on the shared 2-core machine competing OpenMP threads slow runs many-fold."""
    import torch
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
