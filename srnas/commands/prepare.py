"""``srnas prepare``: make SR training/benchmark data (GTmod/LRbicx, DIV2K sub-images, meta-info, LMDB)."""
import argparse
from pathlib import Path

from srnas.utils.cli import command
from srnas.utils.errors import InputError

HELP = 'prepare SR data: benchmark GTmod/LRbicx folders, DIV2K sub-images + meta-info, LMDB'


def build_parser():
    parser = argparse.ArgumentParser(prog='srnas prepare', description=HELP)
    sub = parser.add_subparsers(dest='what', required=True)

    bench = sub.add_parser('benchmark', help='HR folder -> GTmod{s}/ + LRbicx{s}/ (MATLAB bicubic)')
    bench.add_argument('-i', '--input', required=True, help='folder of HR images (e.g. Set5 originals)')
    bench.add_argument('-o', '--output', required=True, help='set folder to write, e.g. datasets/Set5')
    bench.add_argument('--scales', type=int, nargs='+', default=[2, 3, 4])
    bench.add_argument('--mod', type=int, default=None, help='crop GT to this multiple (e.g. 12) instead of s')

    div2k = sub.add_parser('div2k', help='HR images -> 480x480 sub-images (step 240) + LR crops + meta-info')
    div2k.add_argument('-i', '--input', required=True,
                       help='DIV2K root (holding DIV2K_train_HR/) or a folder of HR images')
    div2k.add_argument('-o', '--output', required=True, help='output folder, e.g. datasets/DIV2K')
    div2k.add_argument('--lr_root', default=None,
                       help='folder with X2/ X3/ X4/ LR images (default: <input>/DIV2K_train_LR_bicubic if '
                            'present, else LR is made from HR by MATLAB bicubic)')
    div2k.add_argument('--scales', type=int, nargs='+', default=[2, 3, 4])
    div2k.add_argument('--crop', type=int, default=480, help='HR sub-image size')
    div2k.add_argument('--step', type=int, default=240, help='HR stride between sub-images')
    div2k.add_argument('--name', default='DIV2K_train_HR_sub', help='name of the HR sub-image folder')
    div2k.add_argument('--lmdb', action='store_true', help='also pack HR and LR sub-images into LMDBs')
    div2k.add_argument('--workers', type=int, default=1, help='processes')

    lmdb = sub.add_parser('lmdb', help='pack a folder of images into an LMDB (BasicSR layout)')
    lmdb.add_argument('-i', '--input', required=True)
    lmdb.add_argument('-o', '--output', required=True, help='path ending in .lmdb')
    return parser


def _benchmark(args):
    from srnas.data.prepare import prepare_benchmark
    folders = prepare_benchmark(args.input, args.output, args.scales, args.mod)
    for scale, (gt_dir, lq_dir) in folders.items():
        print(f'x{scale}: {gt_dir}  {lq_dir}')


def _div2k(args):
    from srnas.data.prepare import make_lmdb, prepare_subimages
    root = Path(args.input)
    hr_dir = root / 'DIV2K_train_HR' if (root / 'DIV2K_train_HR').is_dir() else root
    lr_root = Path(args.lr_root) if args.lr_root else root / 'DIV2K_train_LR_bicubic'
    lr_dirs = {}
    if args.lr_root or lr_root.is_dir():
        for scale in args.scales:
            folder = lr_root / f'X{scale}'
            if not folder.is_dir():
                raise InputError(f'--lr_root: missing LR folder {folder}')
            lr_dirs[scale] = folder
    lr_name = 'DIV2K_train_LR_bicubic/X{scale}_sub' if args.name == 'DIV2K_train_HR_sub' else \
        args.name + '_LRbicx{scale}'
    meta = prepare_subimages(hr_dir, args.output, args.scales, args.crop, args.step, lr_dirs, args.name,
                             lr_name, args.workers)
    out = Path(args.output)
    print(f'HR sub-images: {out / args.name}\nmeta-info: {meta}')
    for scale in args.scales:
        print(f'LR x{scale} sub-images: {out / lr_name.format(scale=scale)}')
    if args.lmdb:
        make_lmdb(out / args.name, out / f'{args.name}.lmdb')
        for scale in args.scales:
            lr_folder = out / lr_name.format(scale=scale)
            make_lmdb(lr_folder, out / (lr_name.format(scale=scale).replace('/', '_') + '.lmdb'))


def _lmdb(args):
    from srnas.data.prepare import make_lmdb
    print(make_lmdb(args.input, args.output))


main = command('prepare', build_parser,
               lambda args: {'benchmark': _benchmark, 'div2k': _div2k, 'lmdb': _lmdb}[args.what](args))
