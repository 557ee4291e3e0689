"""Reproduce IMDN's table with the official weights: PSNR/SSIM per benchmark set and scale, plus complexity.

    .venv/bin/python benchmarks/foundation_imdn_reproduce.py [--data ../shared/data] [--sets Set5 Set14]
                                                            [--scales 2 3 4] [--threads 1]

LR images are made by `prepare_benchmark` (MATLAB bicubic of the mod-cropped HR) in a temporary folder.
"""
import argparse
import tempfile
import time
from pathlib import Path

import torch

from srnas.archs.imdn_arch import SRNASIMDN
from srnas.data.prepare import prepare_benchmark
from srnas.evaluation.benchmarks import evaluate_bicubic, evaluate_model
from srnas.evaluation.complexity import complexity_report, format_complexity
from srnas.utils.checkpoint import load_weights


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--data', default=str(Path(__file__).resolve().parents[2] / 'shared' / 'data'))
    parser.add_argument('--sets', nargs='+', default=['Set5', 'Set14', 'BSD68'])
    parser.add_argument('--scales', type=int, nargs='+', default=[2, 3, 4])
    parser.add_argument('--threads', type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = Path(args.data)
    with tempfile.TemporaryDirectory() as tmp:
        for scale in args.scales:
            sets = {}
            for name in args.sets:
                prepare_benchmark(data / 'benchmarks' / name, Path(tmp) / name, scales=(scale,))
                sets[name] = Path(tmp) / name
            net = load_weights(SRNASIMDN(scale), data / 'pretrained' / f'IMDN_x{scale}.pth')
            start = time.time()
            ours = evaluate_model(net, sets, scale)
            seconds = time.time() - start
            bicubic = evaluate_bicubic(sets, scale)
            print(f'x{scale}: {format_complexity(complexity_report(net, scale))}; evaluation {seconds:.1f} s')
            for name in args.sets:
                print(f"  {name:<9} IMDN {ours[name]['psnr']:.3f} / {ours[name]['ssim']:.4f}   "
                      f"bicubic {bicubic[name]['psnr']:.3f} / {bicubic[name]['ssim']:.4f}   ({ours[name]['count']} images)")


if __name__ == '__main__':
    main()
