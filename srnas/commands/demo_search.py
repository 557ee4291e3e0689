"""``srnas demo-search``: the SR search job end to end on the embedded demo photos (a few minutes on CPU)."""
import argparse

HELP = 'demo of the main job: search -> derive -> brief retrain -> PSNR/SSIM vs bicubic on embedded photos'


def build_parser():
    from srnas.demo.search_demo import DEFAULT_OPTIONS, DEFAULT_RETRAIN_ITERS
    parser = argparse.ArgumentParser(prog='srnas demo-search', description=HELP)
    parser.add_argument('--output', default='demo_output', help='folder for data, experiments and options')
    parser.add_argument('-opt', default=str(DEFAULT_OPTIONS), help='demo-scale search YAML (options/search/demo_*.yml)')
    parser.add_argument('--retrain_iters', type=int, default=DEFAULT_RETRAIN_ITERS, help='child retraining iterations')
    parser.add_argument('--force_yml', nargs='+', default=None, metavar='KEY=VALUE', help='override search options')
    parser.add_argument('--threads', type=int, default=1, help='torch CPU threads (0 = torch default)')
    parser.add_argument('--quiet', action='store_true', help='no progress bars')
    return parser


def main(argv):
    args = build_parser().parse_args(argv)
    from srnas.demo.search_demo import run_search_demo
    from srnas.utils.cli import run_guarded
    return run_guarded('demo-search', run_search_demo, args.output, args.opt, args.retrain_iters,
                       args.force_yml, not args.quiet, args.threads)
