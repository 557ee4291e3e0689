"""Small builders shared by the foundation tests."""
from pathlib import Path

import cv2
import numpy as np
import yaml


def write_yaml(path, opt):
    path = Path(path)
    path.write_text(yaml.safe_dump(opt, sort_keys=False))
    return path


def random_pairs(root, scale, sizes=((24, 20), (16, 32)), names=None):
    """GT/LQ folders of random images whose sizes fit ``scale``; returns (gt_dir, lq_dir)."""
    rng = np.random.default_rng(0)
    gt_dir, lq_dir = Path(root) / 'GT', Path(root) / 'LQ'
    gt_dir.mkdir(parents=True, exist_ok=True)
    lq_dir.mkdir(parents=True, exist_ok=True)
    for i, (h, w) in enumerate(sizes):
        name = names[i] if names else f'img{i}'
        cv2.imwrite(str(lq_dir / f'{name}.png'), rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        cv2.imwrite(str(gt_dir / f'{name}.png'), rng.integers(0, 256, (h * scale, w * scale, 3), dtype=np.uint8))
    return gt_dir, lq_dir


def train_options(gt_dir, lq_dir, val_gt, val_lq, scale=2, name='tiny', total_iter=4, **extra):
    opt = {
        'name': name, 'model_type': 'SRModel', 'scale': scale, 'num_gpu': 0, 'manual_seed': 0,
        'datasets': {
            'train': {'name': 'tr', 'type': 'PairedImageDataset', 'dataroot_gt': str(gt_dir),
                      'dataroot_lq': str(lq_dir), 'io_backend': {'type': 'disk'}, 'gt_size': 16,
                      'use_hflip': True, 'use_rot': True, 'num_worker_per_gpu': 0, 'batch_size_per_gpu': 2,
                      'dataset_enlarge_ratio': 1},
            'val': {'name': 'va', 'type': 'PairedImageDataset', 'dataroot_gt': str(val_gt),
                    'dataroot_lq': str(val_lq), 'io_backend': {'type': 'disk'}},
        },
        'network_g': {'type': 'SRNASIMDN', 'upscale': scale, 'num_feat': 8, 'num_blocks': 1},
        'path': {'pretrain_network_g': None, 'strict_load_g': True, 'resume_state': None},
        'train': {'ema_decay': 0, 'optim_g': {'type': 'Adam', 'lr': 1e-3, 'betas': [0.9, 0.99]},
                  'scheduler': {'type': 'MultiStepLR', 'milestones': [1000], 'gamma': 0.5},
                  'total_iter': total_iter, 'warmup_iter': -1,
                  'pixel_opt': {'type': 'L1Loss', 'loss_weight': 1.0, 'reduction': 'mean'}},
        'val': {'val_freq': 1000, 'save_img': False,
                'metrics': {'psnr': {'type': 'calculate_psnr', 'crop_border': scale, 'test_y_channel': True}}},
        'logger': {'print_freq': 1, 'save_checkpoint_freq': 1000, 'use_tb_logger': False},
    }
    opt.update(extra)
    return opt
