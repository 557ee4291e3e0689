"""Train a small IMDN on the demo photos with BasicSR's pipeline and compare it with bicubic.

``train_small_imdn`` writes an ordinary BasicSR option file (``SRModel`` + ``SRNASIMDN`` +
``PairedImageDataset``) and runs it through ``srnas train``'s code path, so the demo
exercises the same machinery as a real run; ``evaluate_demo`` scores the result on the
held-out photos.
"""
import time
from pathlib import Path

import torch
import yaml

from srnas.demo.data import build_demo_data, split_folders
from srnas.nas.files import write_mapping

DEFAULT_ITERS = 500  # with HR patches of 48: the demo's whole run fits in minutes on a loaded 2-core CPU
# One intra-op thread: on a small shared CPU, OpenMP threads fighting for cores made training
# >10x slower (measured 0.5 s/iter with 1 thread vs 7.3 s/iter with 2 under load).
DEFAULT_THREADS = 1


def demo_train_options(data_root, scale=2, name='demo_imdn_x2', total_iter=DEFAULT_ITERS, num_feat=32,
                       num_blocks=4, gt_size=48, batch_size=16, lr=5e-3, val_freq=None, checkpoint_freq=None,
                       seed=10):
    """BasicSR option dict for the demo run (CPU, Y-PSNR/SSIM validation on the demo ``val`` photo)."""
    data_root = Path(data_root)
    train_gt, train_lq = split_folders(data_root, 'train_sub', scale)
    val_gt, val_lq = split_folders(data_root, 'val', scale)
    val_freq = val_freq or max(total_iter // 4, 1)
    return {
        'name': name,
        'model_type': 'SRModel',
        'scale': scale,
        'num_gpu': 0,
        'manual_seed': seed,
        'datasets': {
            'train': {
                'name': 'demo_train', 'type': 'PairedImageDataset',
                'dataroot_gt': str(train_gt), 'dataroot_lq': str(train_lq),
                'meta_info_file': str(data_root / 'train_sub' / 'meta_info_GT.txt'),
                'io_backend': {'type': 'disk'},
                'gt_size': gt_size, 'use_hflip': True, 'use_rot': True,
                'num_worker_per_gpu': 1, 'batch_size_per_gpu': batch_size,
                'dataset_enlarge_ratio': 1, 'prefetch_mode': None,
            },
            'val': {
                'name': 'demo_val', 'type': 'PairedImageDataset',
                'dataroot_gt': str(val_gt), 'dataroot_lq': str(val_lq), 'io_backend': {'type': 'disk'},
            },
        },
        'network_g': {'type': 'SRNASIMDN', 'upscale': scale, 'num_in_ch': 3, 'num_feat': num_feat,
                      'num_blocks': num_blocks},
        'path': {'pretrain_network_g': None, 'strict_load_g': True, 'resume_state': None},
        'train': {
            'ema_decay': 0,
            'optim_g': {'type': 'Adam', 'lr': lr, 'weight_decay': 0, 'betas': [0.9, 0.99]},
            'scheduler': {'type': 'CosineAnnealingRestartLR', 'periods': [total_iter], 'restart_weights': [1],
                          'eta_min': lr / 100},
            'total_iter': total_iter,
            'warmup_iter': -1,
            'pixel_opt': {'type': 'L1Loss', 'loss_weight': 1.0, 'reduction': 'mean'},
        },
        'val': {
            'val_freq': val_freq, 'save_img': False,
            'metrics': {
                'psnr': {'type': 'calculate_psnr', 'crop_border': scale, 'test_y_channel': True},
                'ssim': {'type': 'calculate_ssim', 'crop_border': scale, 'test_y_channel': True},
            },
        },
        'logger': {'print_freq': max(total_iter // 10, 1), 'save_checkpoint_freq': checkpoint_freq or total_iter,
                   'use_tb_logger': False},
    }


def train_small_imdn(output_root, scale=2, total_iter=DEFAULT_ITERS, data_root=None, threads=DEFAULT_THREADS,
                     **option_kwargs):
    """Build the demo data, train a small IMDN under ``output_root``; returns (options path, weights path).

    ``threads``: torch intra-op threads for the run (None keeps torch's default).
    """
    from srnas.utils.pipelines import run_train
    if threads:
        torch.set_num_threads(threads)
    output_root = Path(output_root).resolve()
    data_root = build_demo_data(data_root or output_root / 'data', scale)
    name = option_kwargs.pop('name', f'demo_imdn_x{scale}')
    opt = demo_train_options(data_root, scale, name=name, total_iter=total_iter, **option_kwargs)
    opt_path = write_mapping(output_root / 'options' / f'{name}.yml', opt)
    run_train(opt_path, root_path=output_root, brief=True)
    return opt_path, output_root / 'experiments' / name / 'models' / 'net_g_latest.pth'


def load_trained(opt_path, weights_path):
    """The network described by ``opt_path`` with BasicSR checkpoint ``weights_path`` loaded."""
    from srnas.utils.checkpoint import build_network, load_weights
    opt = yaml.safe_load(Path(opt_path).read_text())
    net = build_network(opt['network_g'])
    load_weights(net, weights_path)
    return net.eval()


@torch.no_grad()
def mean_l1(model, pairs_root, scale):
    """Mean absolute error in [0, 1] of ``model`` on the LR/GT pairs of a split (validation L1)."""
    from srnas.evaluation.benchmarks import paired_images, read_checked_pair
    from srnas.utils.image_io import bgr_uint8_to_tensor
    total, count = 0.0, 0
    for pair in paired_images(*split_folders(pairs_root, 'val', scale)):
        lq, gt = read_checked_pair(pair, scale)
        out = model(bgr_uint8_to_tensor(lq))
        total += (out - bgr_uint8_to_tensor(gt)).abs().mean().item()
        count += 1
    return total / count


def evaluate_demo(model, data_root, scale, label='IMDN (demo)'):
    """{row: {set: metrics}} for bicubic and ``model`` on the held-out ``test`` photos."""
    from srnas.evaluation.benchmarks import evaluate_bicubic, evaluate_model
    sets = {'held-out photos': split_folders(data_root, 'test', scale)}
    return {'Bicubic': evaluate_bicubic(sets, scale), label: evaluate_model(model, sets, scale)}


def run_demo(output_root='demo_output', scale=2, total_iter=DEFAULT_ITERS, **option_kwargs):
    """The ``srnas demo`` job: data, training, table. Returns the results dict."""
    from srnas.evaluation.benchmarks import format_metrics_table
    from srnas.evaluation.complexity import complexity_report, format_complexity
    start = time.time()
    output_root = Path(output_root).resolve()
    data_root = build_demo_data(output_root / 'data', scale)
    print(f'[demo] data: {data_root} (train/val/test splits of scikit-image photos, MATLAB-bicubic x{scale})')
    print(f'[demo] training a small IMDN for {total_iter} iterations on CPU (BasicSR pipeline, logs under '
          f'{output_root / "experiments"}) ...', flush=True)
    opt_path, weights = train_small_imdn(output_root, scale, total_iter, data_root, **option_kwargs)
    model = load_trained(opt_path, weights)
    results = evaluate_demo(model, data_root, scale, label=f'IMDN small ({total_iter} it)')
    print(f'[demo] trained in {time.time() - start:.0f} s; weights: {weights}')
    print(f'[demo] {format_complexity(complexity_report(model, scale))}')
    print(format_metrics_table(results))
    return results
