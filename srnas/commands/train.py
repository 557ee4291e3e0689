"""``srnas train -opt X.yml``: BasicSR's training pipeline with srnas' plug-ins, checks and CPU resume."""
import argparse

from srnas.utils.cli import run_guarded

HELP = "train a network with BasicSR's pipeline (-opt options/train/X.yml, --auto_resume works on CPU)"


def build_parser():
    parser = argparse.ArgumentParser(prog='srnas train', description=HELP)
    parser.add_argument('-opt', required=True, help='option YAML (BasicSR schema)')
    parser.add_argument('--auto_resume', action='store_true',
                        help='resume from the newest experiments/<name>/training_states/<iter>.state')
    parser.add_argument('--debug', action='store_true', help="BasicSR debug mode (name prefixed 'debug_')")
    parser.add_argument('--force_yml', nargs='+', default=None, metavar='KEY=VALUE',
                        help='override existing options, e.g. train:total_iter=1000 val:val_freq=100')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none',
                        help="distributed launcher: 'pytorch' under torchrun (gloo on CPU, nccl on CUDA)")
    parser.add_argument('--root', default=None,
                        help='folder that receives experiments/ and tb_logger/ (default: the working directory)')
    return parser


def main(argv):
    args = build_parser().parse_args(argv)
    from srnas.utils.pipelines import run_train
    return run_guarded('train', run_train, args.opt, root_path=args.root, auto_resume=args.auto_resume,
                       debug=args.debug, overrides=args.force_yml, launcher=args.launcher,
                       option_file=args.opt)
