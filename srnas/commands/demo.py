"""``srnas demo``: real work with no data set on disk (scikit-image photos -> small IMDN -> table vs bicubic)."""
import argparse

from srnas.utils.cli import run_guarded

HELP = 'embedded demo: build paired data from scikit-image photos, train a small IMDN on CPU, compare with bicubic'


def build_parser():
    from srnas.demo.imdn_baseline import DEFAULT_ITERS
    parser = argparse.ArgumentParser(prog='srnas demo', description=HELP)
    parser.add_argument('--output', default='demo_output', help='folder for data, logs and weights (default demo_output)')
    parser.add_argument('--scale', type=int, default=2, choices=[2, 3, 4])
    parser.add_argument('--iters', type=int, default=DEFAULT_ITERS,
                        help=f'training iterations (default {DEFAULT_ITERS}; sets the run time)')
    parser.add_argument('--num_feat', type=int, default=32, help='IMDN width (paper: 64)')
    parser.add_argument('--num_blocks', type=int, default=4, help='IMDN blocks (paper: 6)')
    parser.add_argument('--threads', type=int, default=1,
                        help='torch threads (default 1: extra threads slow training down on a busy small CPU)')
    return parser


def main(argv):
    args = build_parser().parse_args(argv)
    from srnas.demo.imdn_baseline import run_demo
    return run_guarded('demo', run_demo, args.output, args.scale, args.iters, num_feat=args.num_feat,
                       num_blocks=args.num_blocks, threads=args.threads, name=f'demo_imdn_x{args.scale}')
