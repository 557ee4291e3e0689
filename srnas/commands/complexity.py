"""``srnas complexity``: Params and Multi-Adds (thop MACs) for the LR input giving a 1280x720 output."""
import argparse

from srnas.utils.cli import run_guarded

HELP = 'params and Multi-Adds at 1280x720 output of network_g in an option file (or of --arch)'


def build_parser():
    parser = argparse.ArgumentParser(prog='srnas complexity', description=HELP)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument('-opt', help='option YAML whose network_g is measured')
    source.add_argument('--arch', help='registered network type, e.g. SRNASIMDN (needs --scale)')
    parser.add_argument('--scale', type=int, default=None, help='upscale factor (default: from the option file)')
    parser.add_argument('--output_size', type=int, nargs=2, default=[720, 1280], metavar=('H', 'W'),
                        help='HR output size the Multi-Adds are quoted for (default 720 1280)')
    return parser


def _run(args):
    from srnas.evaluation.complexity import complexity_report, format_complexity
    from srnas.utils.checkpoint import build_network
    from srnas.utils.errors import InputError
    if args.opt:
        from srnas.utils.options import read_yaml
        opt = read_yaml(args.opt)
        if not isinstance(opt.get('network_g'), dict):
            raise InputError(f"{args.opt}: option 'network_g': missing")
        net_opt = dict(opt['network_g'])
        scale = args.scale or opt.get('scale') or net_opt.get('upscale')
    else:
        scale = args.scale
        net_opt = {'type': args.arch, 'upscale': scale}
    if not scale:
        raise InputError('--scale is required (the option file has no scale)')
    if 'upscale' in net_opt or args.arch:
        net_opt['upscale'] = scale
    try:
        net = build_network(net_opt)
    except TypeError as exc:
        raise InputError(f'cannot build {net_opt.get("type")}: {exc}') from None
    report = complexity_report(net, scale, tuple(args.output_size), net_opt.get('num_in_ch', 3))
    print(f"{net_opt['type']} x{scale}: {format_complexity(report)}")


def main(argv):
    args = build_parser().parse_args(argv)
    return run_guarded('complexity', _run, args)
