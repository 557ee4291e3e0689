"""``srnas test -opt X.yml``: PSNR/SSIM per test set (Y, crop_border = scale), Params and Multi-Adds."""
import argparse

from srnas.utils.cli import command

HELP = 'evaluate a trained network on test sets: PSNR/SSIM table + Params/Multi-Adds at 720p'


def build_parser():
    parser = argparse.ArgumentParser(prog='srnas test', description=HELP)
    parser.add_argument('-opt', required=True, help='test option YAML (datasets.test_*, network_g, path)')
    parser.add_argument('--force_yml', nargs='+', default=None, metavar='KEY=VALUE',
                        help='override existing options, e.g. path:pretrain_network_g=W.pth')
    parser.add_argument('--root', default=None, help='folder that receives results/ (default: working directory)')
    return parser


def _run(args):
    from srnas.evaluation.test_runner import format_test_report, run_test
    report = run_test(args.opt, root_path=args.root, overrides=args.force_yml)
    print(format_test_report(report))


main = command('test', build_parser, _run)
