"""Option dicts and files for the SR search tests (imported as tests.sr_search.sr_helpers)."""
import copy
from pathlib import Path

import yaml


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
