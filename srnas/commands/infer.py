"""``srnas infer``: super-resolve a folder of LR images without ground truth, with optional tiling."""
import argparse
from pathlib import Path

from srnas.utils.cli import command

HELP = 'super-resolve your own LR images (file or folder, no GT): writes <name>_<model>.png; --tile for big ones'


def build_parser():
    parser = argparse.ArgumentParser(prog='srnas infer', description=HELP)
    parser.add_argument('-i', '--input', required=True, help='LR image or folder of LR images')
    parser.add_argument('-o', '--output', default=None, help='output folder (default: results/infer_<model>)')
    parser.add_argument('--model', default=None,
                        help='weights: BasicSR checkpoint, bare state dict or official IMDN .pth '
                             '(default: path.pretrain_network_g of -opt)')
    parser.add_argument('-opt', default=None, help='option YAML giving network_g and scale')
    parser.add_argument('--arch', default='SRNASIMDN', help='registered network type when no -opt (default SRNASIMDN)')
    parser.add_argument('--scale', type=int, default=None, help='upscale factor (default: from -opt)')
    parser.add_argument('--param_key', default='params', help="checkpoint key, e.g. params_ema (default params)")
    parser.add_argument('--model_name', default=None, help='suffix of output names (default: checkpoint name)')
    parser.add_argument('--tile', type=int, default=0, help='LR tile size; 0 = whole image (default)')
    parser.add_argument('--tile_pad', type=int, default=10, help='LR context pixels around each tile (default 10)')
    parser.add_argument('--allow_tile_seams', action='store_true',
                        help='tile even a network that pools over the whole image (IMDN, DLSR): output then '
                             'differs from whole-image inference')
    parser.add_argument('--device', default='cpu', help='cpu or cuda (default cpu)')
    return parser


def _network_options(args):
    from srnas.utils.errors import InputError
    from srnas.utils.network_options import network_options
    net_opt, scale, opt = network_options(args.opt, args.arch, args.scale)
    weights = args.model or (opt.get('path') or {}).get('pretrain_network_g')
    if not weights:
        raise InputError('--model is required (or give -opt with path.pretrain_network_g)')
    name = args.model_name or opt.get('name')
    return net_opt, scale, weights, name or Path(weights).stem


def _run(args):
    from srnas.utils.checkpoint import load_weights
    from srnas.utils.network_options import build_checked_network
    from srnas.utils.inference import super_resolve_folder
    net_opt, scale, weights, name = _network_options(args)
    net = build_checked_network(net_opt)
    load_weights(net, weights, param_key=args.param_key)
    if args.tile:
        from srnas.utils.tiling import check_tileable
        check_tileable(net, args.allow_tile_seams)  # before any image is read or written
    output = args.output or str(Path('results') / f'infer_{name}')
    written, failed = super_resolve_folder(net, args.input, output, scale, name, args.device, args.tile, args.tile_pad,
                                           args.allow_tile_seams)
    print(f'{len(written)} image(s) written to {output}' + (f'; {len(failed)} skipped' if failed else ''))
    return 1 if failed else 0


main = command('infer', build_parser, _run)
