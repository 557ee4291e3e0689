"""``srnas derive -g genotype.json``: the searched genotype -> files to retrain and test the child.

Writes, into ``--out_dir`` (default ``<genotype folder>/derived``):

* ``<name>_genotype.json``: the validated genotype (+ scale and provenance);
* ``<name>.yml``: a BasicSR train YAML (``SRModel``, L1) for ``srnas train``;
* ``<name>_test.yml``: a test YAML for ``srnas test`` on the trained weights.

Presets: ``full`` = the DLSR retraining recipe (``train/train_beta_para.py`` as
``scripts/train_beta_rfdn.sh`` runs it) on DIV2K sub-images: Adam 3e-4, wd 1e-8,
betas 0.9/0.999, batch 32, HR patch 128 at x2 / 192 at x3 and x4, 1000 epochs
of 1,941 iterations (DF2K with test_every 2000: 1,941,000 iterations), lr halved
every 200 epochs, gradient norm clipped at 50, Set5 validation; test on
Set5/Set14/B100/Urban100. The train YAML's header states this budget; ``demo`` = a few hundred iterations on the
embedded demo photos (``demo_output/data``): 1000 iterations, batch 16,
HR patch 64, Adam 5e-3 with cosine decay (the ``srnas demo`` recipe).
"""
import argparse
from pathlib import Path

from srnas.utils.cli import command

HELP = 'turn a searched genotype into a child network: genotype file + ready train/test YAML'
BENCHMARKS = ('Set5', 'Set14', 'B100', 'Urban100')
# DLSR's retraining (notes/sr_spaces.md 1.7): 1000 epochs; an epoch is test_every 2000 batches of 32 on
# DF2K's 3450 images = 18 repeats x 3450 / 32 = 1,941 iterations; MultiStepLR every 200 epochs; clip 50.
DLSR_RETRAIN = {'epochs': 1000, 'iters_per_epoch': 1941, 'halve_every': 200, 'lr': 3e-4, 'grad_clip': 50}


def build_parser():
    parser = argparse.ArgumentParser(prog='srnas derive', description=HELP)
    parser.add_argument('-g', '--genotype', required=True, help='genotype.json written by srnas search (or by hand)')
    parser.add_argument('--scale', type=int, default=None, help='upscale factor (default: the one searched at)')
    parser.add_argument('--name', default=None, help='experiment name of the child (default: <space>_child_x<s>)')
    parser.add_argument('--out_dir', default=None, help='where to write (default: <genotype folder>/derived)')
    parser.add_argument('--preset', choices=('full', 'demo'), default='full',
                        help='full: paper retraining on DIV2K; demo: brief retraining on the embedded photos')
    parser.add_argument('--num_feat', type=int, default=None,
                        help='child width (default: 48 DLSR / 64 IMDN for full, the searched width for demo)')
    parser.add_argument('--total_iter', type=int, default=None, help='override the preset iterations')
    parser.add_argument('--data_root', default=None,
                        help="datasets root (full: 'datasets', demo: 'demo_output/data')")
    return parser


def _run(args):
    result = derive_child(args.genotype, scale=args.scale, name=args.name, out_dir=args.out_dir,
                          preset=args.preset, num_feat=args.num_feat, total_iter=args.total_iter,
                          data_root=args.data_root)
    print(f"genotype:   {result['genotype_file']}")
    print(f"train YAML: {result['train_options']}   (srnas train -opt {result['train_options']})")
    print(f"test YAML:  {result['test_options']}   (srnas test -opt {result['test_options']})")
    print(f"child: {result['complexity']}")


def child_network_options(genotype, genotype_file, scale, num_feat=None, num_blocks=None):
    from srnas.nas.registry import SPACE_REGISTRY
    space = SPACE_REGISTRY.get(genotype['space'])
    net = {'type': space.child_type, 'genotype': str(genotype_file), 'upscale': scale,
           'num_feat': num_feat or space.default_width}
    if num_blocks:  # demo supernets with fewer blocks than the paper's (IMDN)
        net['num_blocks'] = num_blocks
    return net


def _paired(name, gt, lq, **extra):
    return {'name': name, 'type': 'PairedImageDataset', 'dataroot_gt': str(gt), 'dataroot_lq': str(lq),
            'io_backend': {'type': 'disk'}, **extra}


def _full_datasets(root, scale):
    root = Path(root)
    gt_size = 128 if scale == 2 else 192  # DLSR: HR 128 at x2; IMDN: HR 192 for every scale
    train = _paired('DIV2K', root / 'DIV2K' / 'DIV2K_train_HR_sub', root / 'DIV2K' / 'DIV2K_train_LR_bicubic' /
                    f'X{scale}_sub', meta_info_file=str(root / 'DIV2K' / 'meta_info_DIV2K800sub_GT.txt'),
                    filename_tmpl='{}', gt_size=gt_size, use_hflip=True, use_rot=True, num_worker_per_gpu=6,
                    batch_size_per_gpu=32, dataset_enlarge_ratio=1, prefetch_mode=None)
    val = _paired('Set5', root / 'Set5' / f'GTmod{scale}', root / 'Set5' / f'LRbicx{scale}')
    tests = {f'test_{i + 1}': _paired(s, root / s / f'GTmod{scale}', root / s / f'LRbicx{scale}')
             for i, s in enumerate(BENCHMARKS)}
    epoch = DLSR_RETRAIN['iters_per_epoch']
    schedule = {'total_iter': DLSR_RETRAIN['epochs'] * epoch, 'lr': DLSR_RETRAIN['lr'],
                'milestones': [e * epoch for e in range(DLSR_RETRAIN['halve_every'], DLSR_RETRAIN['epochs'],
                                                        DLSR_RETRAIN['halve_every'])],
                'grad_clip': DLSR_RETRAIN['grad_clip']}
    return train, val, tests, schedule, {'val_freq': epoch, 'print_freq': 100, 'save_checkpoint_freq': epoch}


def _demo_datasets(root, scale):
    from srnas.demo.data import split_folders
    train_gt, train_lq = split_folders(root, 'train_sub', scale)
    train = _paired('demo_train_sub', train_gt, train_lq, meta_info_file=str(Path(root) / 'train_sub' /
                    'meta_info_GT.txt'), gt_size=32 * scale, use_hflip=True, use_rot=True,
                    num_worker_per_gpu=0, batch_size_per_gpu=16)
    val = _paired('demo_val', *split_folders(root, 'val', scale))
    tests = {'test_1': _paired('demo_heldout', *split_folders(root, 'test', scale))}
    # The foundation's demo recipe (srnas demo): high lr with cosine decay beats bicubic in ~1000 iterations.
    schedule = {'total_iter': 1000, 'cosine': True, 'lr': 5e-3}
    return train, val, tests, schedule, {'val_freq': 100, 'print_freq': 50, 'save_checkpoint_freq': 100}


def _scheduler(schedule, total):
    if schedule.get('cosine'):
        return {'type': 'CosineAnnealingRestartLR', 'periods': [total], 'restart_weights': [1],
                'eta_min': schedule['lr'] / 100}
    return {'type': 'MultiStepLR', 'milestones': [m for m in schedule['milestones'] if m < total] or [total],
            'gamma': 0.5}


def _budget_header(preset, total, train_opt):
    """Comment lines stating the training budget the YAML encodes."""
    train = train_opt['train']
    batch = train_opt['datasets']['train']['batch_size_per_gpu']
    lines = [f'# Budget: {total:,} iterations of batch {batch}, Adam lr {train["optim_g"]["lr"]:g}']
    if preset == 'full':
        epoch = DLSR_RETRAIN['iters_per_epoch']
        lines[0] += (f' = {total / epoch:g} DLSR epochs of {epoch:,} iterations (DLSR: {DLSR_RETRAIN["epochs"]}); '
                     f'lr halved every {DLSR_RETRAIN["halve_every"]} epochs '
                     f'({DLSR_RETRAIN["halve_every"] * epoch:,} iterations), gradient norm clipped at '
                     f'{DLSR_RETRAIN["grad_clip"]}.')
    else:
        lines[0] += ', cosine decay (demo recipe).'
    return '\n'.join(lines) + '\n'


def derive_child(genotype_path, scale=None, name=None, out_dir=None, preset='full', num_feat=None,
                 total_iter=None, data_root=None):
    """Write the child's genotype file and train/test YAMLs; returns their paths and its complexity."""
    import yaml

    from srnas.spaces.genotypes import load_genotype_file, save_genotype
    from srnas.utils.errors import InputError

    genotype_path = Path(genotype_path)
    genotype, extras = load_genotype_file(genotype_path)
    scale = scale or extras.get('scale')
    if not isinstance(scale, int) or scale < 1:
        raise InputError(f'{genotype_path}: no scale recorded; pass --scale')
    space = genotype['space']
    supernet = extras.get('supernet') or {}
    num_blocks = None
    if preset == 'demo':
        num_feat = num_feat or supernet.get('num_feat')
        num_blocks = supernet.get('num_blocks')
    name = name or f'{space}_child_x{scale}' + ('_demo' if preset == 'demo' else '')
    out_dir = Path(out_dir) if out_dir else genotype_path.parent / 'derived'
    out_dir.mkdir(parents=True, exist_ok=True)
    child_genotype = save_genotype(genotype, out_dir / f'{name}_genotype.json',
                                   extra={'scale': scale, 'derived_from': str(genotype_path)})
    network = child_network_options(genotype, child_genotype.resolve(), scale, num_feat, num_blocks)

    if preset == 'demo':
        train_set, val_set, tests, schedule, freq = _demo_datasets(Path(data_root or 'demo_output/data'), scale)
    else:
        train_set, val_set, tests, schedule, freq = _full_datasets(Path(data_root or 'datasets'), scale)
    total = total_iter or schedule['total_iter']
    metrics = {'psnr': {'type': 'calculate_psnr', 'crop_border': scale, 'test_y_channel': True},
               'ssim': {'type': 'calculate_ssim', 'crop_border': scale, 'test_y_channel': True}}
    train_opt = {
        # DLSR's recipe clips the weight gradient: SRNASModel is SRModel plus train.grad_clip
        'name': name, 'model_type': 'SRNASModel' if schedule.get('grad_clip') else 'SRModel', 'scale': scale,
        'num_gpu': 'auto', 'manual_seed': 0,
        'datasets': {'train': train_set, 'val': val_set},
        'network_g': network,
        'path': {'pretrain_network_g': None, 'strict_load_g': True, 'resume_state': None},
        'train': {
            'ema_decay': 0,
            'optim_g': {'type': 'Adam', 'lr': schedule['lr'], 'weight_decay': 1e-8, 'betas': [0.9, 0.999]},
            'scheduler': _scheduler(schedule, total),
            'total_iter': total, 'warmup_iter': -1,
            'pixel_opt': {'type': 'L1Loss', 'loss_weight': 1.0, 'reduction': 'mean'},
            **({'grad_clip': schedule['grad_clip']} if schedule.get('grad_clip') else {}),
        },
        'val': {'val_freq': min(freq['val_freq'], total), 'save_img': False, 'metrics': metrics},
        'logger': {'print_freq': min(freq['print_freq'], total), 'save_checkpoint_freq':
                   min(freq['save_checkpoint_freq'], total), 'use_tb_logger': True},
    }
    test_opt = {
        'name': f'{name}_test', 'model_type': 'SRModel', 'scale': scale, 'num_gpu': 'auto',
        'datasets': tests, 'network_g': network,
        'path': {'pretrain_network_g': str(Path('experiments') / name / 'models' / 'net_g_latest.pth'),
                 'strict_load_g': True, 'param_key_g': 'params'},
        'val': {'save_img': False, 'suffix': None, 'metrics': metrics},
    }
    from srnas.nas.files import atomic_write_text
    paths = {}
    for key, opt in (('train_options', train_opt), ('test_options', test_opt)):
        path = out_dir / (f'{name}.yml' if key == 'train_options' else f'{name}_test.yml')
        text = f'# Written by srnas derive from {genotype_path} ({preset} preset).\n' + \
            (_budget_header(preset, total, train_opt) if key == 'train_options' else '') + \
            yaml.safe_dump(opt, sort_keys=False)
        paths[key] = atomic_write_text(path, text)
    from srnas.evaluation.complexity import complexity_report, format_complexity
    from srnas.basicsr_compat import register_plugins
    register_plugins()
    from basicsr.archs import build_network
    child = build_network(dict(network))
    return {'genotype_file': child_genotype, 'genotype': genotype, 'network': network,
            'complexity': format_complexity(complexity_report(child, scale)), 'child': child, **paths}


main = command('derive', build_parser, _run)
