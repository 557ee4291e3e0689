"""``srnas demo``: real work with no data set on disk (what ``make demo`` runs).

Default: the main job (SR search -> derive -> retrain the child -> compare with a
hand-designed small IMDN and bicubic). ``--only imdn`` trains and scores just the
IMDN baseline; ``--only search`` is the search job without the baseline.
"""
import argparse

from srnas.utils.cli import run_guarded

HELP = 'embedded demo on scikit-image photos: SR search -> retrain the child -> table vs IMDN and bicubic'


def build_parser():
    from srnas.demo.imdn_baseline import DEFAULT_ITERS
    from srnas.demo.search_demo import DEFAULT_OPTIONS
    parser = argparse.ArgumentParser(prog='srnas demo', description=HELP)
    parser.add_argument('--only', choices=['search', 'imdn'], default=None,
                        help='run only the search job or only the IMDN baseline (default: both)')
    parser.add_argument('--output', default='demo_output', help='folder for data, logs and weights (default demo_output)')
    parser.add_argument('-opt', default=str(DEFAULT_OPTIONS), help='demo-scale search YAML (options/search/demo_*.yml)')
    parser.add_argument('--iters', type=int, default=DEFAULT_ITERS,
                        help=f'training iterations of each retrained network (default {DEFAULT_ITERS})')
    parser.add_argument('--scale', type=int, default=2, choices=[2, 3, 4], help='scale of --only imdn')
    parser.add_argument('--num_feat', type=int, default=32, help='IMDN width of --only imdn (paper: 64)')
    parser.add_argument('--num_blocks', type=int, default=4, help='IMDN blocks of --only imdn (paper: 6)')
    parser.add_argument('--threads', type=int, default=1,
                        help='torch threads (default 1: extra threads slow training down on a busy small CPU)')
    parser.add_argument('--quiet', action='store_true', help='no progress bars')
    return parser


def main(argv):
    args = build_parser().parse_args(argv)
    if args.only == 'imdn':
        from srnas.demo.imdn_baseline import run_demo
        return run_guarded('demo', run_demo, args.output, args.scale, args.iters, num_feat=args.num_feat,
                           num_blocks=args.num_blocks, threads=args.threads, name=f'demo_imdn_x{args.scale}')
    if args.only == 'search':
        from srnas.demo.search_demo import run_search_demo
        return run_guarded('demo', run_search_demo, args.output, args.opt, args.iters,
                           progress=not args.quiet, threads=args.threads)
    from srnas.demo.main_job import run_main_demo
    return run_guarded('demo', run_main_demo, args.output, args.opt, args.iters, args.threads, not args.quiet)
