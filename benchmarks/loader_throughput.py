"""Does the data keep up? Loader batches per second against search iterations per second.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/loader_throughput.py [--sr-data DIR] [--cifar-root DIR]
        [--workers 0,1,2] [--batches 40] [--json out.json]

SR: the pipeline ``srnas search`` builds (``srnas.commands.search``: BasicSR
``PairedImageDataset`` with random paired crops, flips and rotations, read
through ``_epoch_loader``) on DIV2K-style sub-images made by ``srnas prepare
div2k`` (480x480 HR sub-images, step 240, MATLAB-bicubic x2 LR) from the HR
photos of ``--sr-data`` (default ``../shared/data/train/SunHays80`` when it
exists, else a few ``skimage.data`` photos), read from disk (PNG) and from
LMDBs made by ``srnas prepare``'s ``make_lmdb``. Classification: the search
loader of ``classification.data.loaders.search_loaders`` (weight half, random
crop + flip + normalise) on the CIFAR-10 JPEG copy of ``--cifar-root``
(default ``../shared/data/cifar10_jpg`` when it exists, else 32x32 JPEGs the
script writes, 10 classes x 100), measured 'cold' (decoding every JPEG: a
worker process decodes again every epoch) and, with 0 workers, 'warm' (the
main process's decoded-image cache from an earlier epoch); the files are read
once, untimed, before (OS page cache).

Loader: for 0, 1 and 2 worker processes, a fresh loader per measurement (as a
search epoch makes one), the time to its first batch (worker start-up) and the
steady batches per second over the following ``--batches`` batches (wall
clock: the workers run in other processes). Settings of the step it feeds:
``benchmarks/scaling.py``'s, i.e. SR batch 2 with LR 48x48 (HR 96) against the
DLSR x2 SAC K=4 first-order iteration, classification batch 8 at 32x32 against
the DARTS C=16 first-order iteration, plus the shipped options' batch (SR 64
with HR 64, ``options/search/sac_dlsr_x2.yml``; CIFAR 64). One search iteration
consumes two batches (a weight batch and an alpha batch), so the loader keeps
up when its batches per second are at least twice the iterations per second.
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / 'shared' / 'data'
BATCHES_PER_ITERATION = 2  # run_search: one weight batch and one alpha batch per iteration


def time_batches(loader, count, clock=time.perf_counter):
    """Seconds to the first batch, then batches per second over the next ``count`` batches."""
    start = clock()
    batches = iter(loader)
    next(batches)
    first = clock()
    taken = 0
    for _ in range(count):
        try:
            next(batches)
        except StopIteration:
            break
        taken += 1
    end = clock()
    if taken == 0:
        raise ValueError(f'loader gave only one batch; {count} more were asked for')
    return {'first_batch_s': first - start, 'batches_per_s': taken / (end - first), 'batches': taken}


def keeps_up(loader_batches_per_s, iteration_s, batches_per_iteration=BATCHES_PER_ITERATION):
    """Loader batches/s over what the search consumes (> 1: the loader is faster than the step)."""
    return loader_batches_per_s * iteration_s / batches_per_iteration


# ------------------------------------------------------------------------------------------------ SR data
def _sample_photos(folder):
    """A few colour photos from skimage.data written as PNGs (when no HR folder is given or shared)."""
    import cv2
    from skimage import data
    folder.mkdir(parents=True, exist_ok=True)
    for index, name in enumerate(('astronaut', 'chelsea', 'coffee', 'rocket', 'immunohistochemistry')):
        image = getattr(data, name)()
        cv2.imwrite(str(folder / f'{index + 1:04d}.png'), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return folder


def _first_images(folder, count, link_dir):
    """The first ``count`` images of ``folder`` (sorted), linked into ``link_dir`` (nothing is copied)."""
    from srnas.utils.image_io import list_images
    link_dir.mkdir(parents=True)
    for path in list_images(folder)[:count]:
        (link_dir / path.name).symlink_to(path.resolve())
    return link_dir


def prepare_sr(hr_dir, work):
    """DIV2K-style x2 sub-images of ``hr_dir`` and their LMDBs, as ``srnas prepare div2k --lmdb`` makes them."""
    from srnas.data.prepare import make_lmdb, prepare_subimages
    meta = prepare_subimages(hr_dir, work, scales=[2], name='HR_sub', lr_name='LR_X2_sub')
    make_lmdb(work / 'HR_sub', work / 'HR_sub.lmdb')
    make_lmdb(work / 'LR_X2_sub', work / 'LR_X2_sub.lmdb')
    return {'disk': {'dataroot_gt': str(work / 'HR_sub'), 'dataroot_lq': str(work / 'LR_X2_sub'),
                     'meta_info_file': str(meta), 'io_backend': {'type': 'disk'}},
            'lmdb': {'dataroot_gt': str(work / 'HR_sub.lmdb'), 'dataroot_lq': str(work / 'LR_X2_sub.lmdb'),
                     'io_backend': {'type': 'lmdb'}}}


def sr_loader(source, gt_size, batch, workers, num_batches):
    from srnas.basicsr_compat import register_plugins
    register_plugins()
    from srnas.commands.search import _build_dataset, _epoch_loader
    dataset_opt = dict(source, name='loader_throughput', type='PairedImageDataset', gt_size=gt_size,
                       use_hflip=True, use_rot=True, num_worker_per_gpu=workers, batch_size_per_gpu=batch)
    dataset, opt = _build_dataset({'datasets': {'train': dataset_opt}, 'scale': 2}, 'train')
    return _epoch_loader(dataset, opt, num_batches, seed=0), len(dataset)


# ---------------------------------------------------------------------------------------- classification
def _sample_cifar(root, per_class=100):
    """32x32 JPEGs in the cifar10_jpg layout (smooth random images; the decode and transform cost is the point)."""
    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(0)
    for label in range(10):
        folder = root / 'train' / f'class{label}'
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(per_class):
            coarse = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
            Image.fromarray(coarse).resize((32, 32), Image.BILINEAR).save(folder / f'{index:04d}.jpg', quality=90)
    return root


def cifar_loader(root, batch, workers, cached=False):
    """The weight-half search loader; ``cached=False`` empties the decoded-image cache first (a cold epoch)."""
    from classification.data import image_folder
    from classification.data.loaders import data_config, search_loaders
    if not cached:
        image_folder._DECODED.clear()
    cfg = data_config({'name': 'cifar10_jpg', 'root': str(root), 'batch_size': batch, 'num_workers': workers})
    train, _, _, _ = search_loaders(cfg)
    return train, len(train.dataset)


# ---------------------------------------------------------------------------------------------- the step
def search_iteration_s(point):
    """Wall and CPU seconds of one first-order search iteration (benchmarks/scaling.py, fresh process)."""
    sys.path.insert(0, str(REPO / 'benchmarks'))
    from scaling import measure
    return measure(point, calls=1, threads=1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--sr-data', type=Path, help='folder of HR photos (default: shared SunHays80, else skimage)')
    parser.add_argument('--sr-images', type=int, default=16, help='HR photos taken from --sr-data (sorted)')
    parser.add_argument('--cifar-root', type=Path, help='cifar10_jpg root (default: shared copy, else made here)')
    parser.add_argument('--workers', default='0,1,2')
    parser.add_argument('--batches', type=int, default=40, help='timed batches per measurement after the first')
    parser.add_argument('--parts', default='sr,cifar,step')
    parser.add_argument('--json', type=Path)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    import torch
    torch.set_num_threads(1)
    from srnas.nas.files import write_mapping
    workers = [int(w) for w in args.workers.split(',') if w]
    parts = set(args.parts.split(','))
    results = {'loadavg_start': os.getloadavg(), 'loader': [], 'step': []}

    def record(kind, setting, backend, batch, num_workers, make):
        loader, size = make()
        sample = time_batches(loader, args.batches)
        row = dict(sample, kind=kind, setting=setting, backend=backend, batch=batch, workers=num_workers,
                   dataset_size=size, loadavg_1min=os.getloadavg()[0])
        results['loader'].append(row)
        print(f"{kind:<5} {setting:<26} {backend:<5} batch {batch:>3} workers {num_workers}: first batch "
              f"{row['first_batch_s']:6.2f} s, {row['batches_per_s']:7.2f} batches/s "
              f"({row['batches_per_s'] * batch:7.1f} samples/s)  load {row['loadavg_1min']:.2f}", flush=True)
        if args.json:
            write_mapping(args.json, results)

    with tempfile.TemporaryDirectory(prefix='srnas_loader_') as tmp:
        tmp = Path(tmp)
        if 'sr' in parts:
            hr_dir = args.sr_data or (SHARED / 'train' / 'SunHays80')
            if hr_dir.is_dir():
                results['sr_data'] = f'{hr_dir} (first {args.sr_images} images)'
                hr_dir = _first_images(hr_dir, args.sr_images, tmp / 'photos')
            else:
                results['sr_data'] = 'skimage.data photos'
                hr_dir = _sample_photos(tmp / 'photos')
            sources = prepare_sr(hr_dir, tmp / 'sr')
            for setting, gt_size, batch in (('step setting (LR 48)', 96, 2), ('shipped options (HR 64)', 64, 64)):
                for backend, source in sources.items():
                    for w in workers:
                        record('sr', setting, backend, batch, w,
                               lambda: sr_loader(source, gt_size, batch, w, args.batches + 1))
        if 'cifar' in parts:
            root = args.cifar_root or (SHARED / 'cifar10_jpg')
            if not (root / 'train').is_dir():
                root = _sample_cifar(tmp / 'cifar')
            results['cifar_root'] = str(root)
            for setting, batch in (('step setting', 8), ('shipped options', 64)):
                # one untimed pass over the same batches first: the JPEG files are then in the OS page cache
                # for every measurement (otherwise the first one alone pays for the disk)
                for _ in zip(range(args.batches + 1), cifar_loader(root, batch, 0)[0]):
                    pass
                for w in workers:
                    # The decoded-image cache lives in the process that loads: the main process keeps it from
                    # epoch to epoch, worker processes (a fresh set per epoch) decode every epoch again.
                    record('cifar', setting, 'cold', batch, w, lambda: cifar_loader(root, batch, w))
                    if w == 0:
                        record('cifar', setting, 'warm', batch, w, lambda: cifar_loader(root, batch, w, cached=True))
    if 'step' in parts:
        for name, point in (('sr', {'space': 'dlsr', 'patch': 48, 'batch': 2, 'partial_k': 4}),
                            ('cifar', {'space': 'darts', 'channels': 16, 'batch': 8})):
            sample = dict(search_iteration_s(point), kind=name)
            results['step'].append(sample)
            print(f"step  {name:<5} {json.dumps(point)}: {sample['wall_s']:.2f} s wall, {sample['cpu_s']:.2f} s CPU "
                  f"per iteration ({BATCHES_PER_ITERATION / sample['wall_s']:.2f} batches/s consumed)", flush=True)
    results['loadavg_end'] = os.getloadavg()
    if args.json:
        write_mapping(args.json, results)
    loads = [r['loadavg_1min'] for r in results['loader']] or [0.0]
    print(f"1-min load average over the loader runs: median {statistics.median(loads):.2f}, "
          f"min {min(loads):.2f}, max {max(loads):.2f}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
