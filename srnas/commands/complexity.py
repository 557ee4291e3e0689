"""``srnas complexity``: Params and Multi-Adds (thop MACs) for the LR input giving a 1280x720 output."""
import argparse

from srnas.utils.cli import command

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
    from srnas.utils.network_options import build_checked_network, network_options
    net_opt, scale, _ = network_options(args.opt, args.arch, args.scale)
    net = build_checked_network(net_opt)
    report = complexity_report(net, scale, tuple(args.output_size), net_opt.get('num_in_ch', 3))
    print(f"{net_opt['type']} x{scale}: {format_complexity(report)}")


main = command('complexity', build_parser, _run)
