"""``python -m classification search|train|eval -opt options/classification/<file>.yml``."""
import argparse
import json
import math
import sys

from classification.options import load_options
from srnas.deprecation import warn_deprecated
from srnas.errors import SRNASError

COMMANDS = {
    'search': 'differentiable search (DARTS / NAS-Bench-201 space) -> genotype.json',
    'train': 'train a genotype from scratch and report test accuracy -> model_final.pth',
    'eval': 'test accuracy of a model_final.pth (and NB201 benchmark values of its cell)',
    'query': 'NAS-Bench-201 / NATS benchmark accuracies of an architecture string or index',
    'landscape': 'NB201 radius-r neighbourhood accuracies, or shortest paths and barriers to --to (A2M 4.1)',
}
BENCH_HELP = 'NAS-Bench-201 .pth file, NATS topology directory or nb201_tss_accuracy.csv table'


def _parser(prog):
    parser = argparse.ArgumentParser(prog=prog,
                                     description='NAS on classification: DARTS and NAS-Bench-201 spaces.')
    sub = parser.add_subparsers(dest='command', required=True, metavar='{' + ','.join(COMMANDS) + '}')
    for name in ('search', 'train', 'eval'):
        p = sub.add_parser(name, help=COMMANDS[name], description=COMMANDS[name])
        p.add_argument('-opt', '--opt', required=True, help='YAML option file')
        p.add_argument('--force_yml', nargs='+', default=[], metavar='KEY=VALUE',
                       help='override options, e.g. --force_yml train:epochs=2 data:subset=64 (as in srnas)')
        p.add_argument('--set', action='append', default=[], metavar='KEY=VALUE',
                       help='deprecated spelling of --force_yml with dots: --set train.epochs=2')
        if name in ('search', 'train'):
            p.add_argument('--auto_resume', action='store_true',
                           help='continue from the newest checkpoint in the output folder (as in srnas)')
            p.add_argument('--resume', default=None, help='deprecated: a checkpoint path to continue from')
        else:
            p.add_argument('--checkpoint', default=None, help='model_final.pth written by train')
    for name, arch_help in (('query', 'architecture string or index'),
                            ('landscape', 'reference architecture string or index')):
        bench_cmd = sub.add_parser(name, help=COMMANDS[name], description=COMMANDS[name])
        bench_cmd.add_argument('--benchmark', required=True, help=BENCH_HELP)
        bench_cmd.add_argument('--arch', required=True, help=arch_help)
        bench_cmd.add_argument('--hp', default='200', choices=['12', '200'])
    # the loop ends on landscape, whose own flags follow
    bench_cmd.add_argument('--radius', type=int, default=1, help='neighbourhood radius (edges changed)')
    bench_cmd.add_argument('--to', default=None, help='second architecture: report shortest paths and barriers')
    bench_cmd.add_argument('--max-paths', type=int, default=24)
    bench_cmd.add_argument('--barrier', default='a2m', choices=['a2m', 'max_below_line'],
                           help='a2m (paper: level means of all shortest paths, 1/2 (A + B) - min) or max_below_line')
    bench_cmd.add_argument('--dataset', default='cifar10', help='cifar10-valid | cifar10 | cifar100 | ImageNet16-120')
    return parser


def _query(args):
    from classification.nb201.benchmark import open_benchmark
    bench = open_benchmark(args.benchmark)
    arch = int(args.arch) if args.arch.isdigit() else args.arch
    answers = bench.query_all(arch, hp=args.hp)
    if not answers:  # ask once more to surface why (missing record, bad string, ...)
        bench.query(arch, 'cifar10-valid', hp=args.hp)
    return _nan_as_null(answers)


def _landscape(args):
    from classification.nb201 import landscape as L
    from classification.nb201.arch import arch_of_index, canonical
    from classification.nb201.benchmark import open_benchmark
    bench = open_benchmark(args.benchmark)

    def as_arch(text):
        return arch_of_index(int(text)) if text.isdigit() else canonical(text)

    arch = as_arch(args.arch)
    if args.to is None:
        values = L.neighbourhood_accuracies(bench, arch, args.radius, args.dataset, args.hp)
        acc = sorted(values.values())
        summary = {'arch': arch, 'radius': args.radius, 'neighbours': L.neighbourhood_size(args.radius),
                   'with_records': len(values), 'reference': bench.query(arch, args.dataset, args.hp)['test']}
        if acc:
            summary.update({'min': acc[0], 'median': acc[len(acc) // 2], 'max': acc[-1]})
        summary['accuracies'] = values
        return summary
    other = as_arch(args.to)
    paths = []
    for path in L.shortest_paths(arch, other, limit=args.max_paths):
        profile = L.path_profile(bench, path, args.dataset, args.hp)
        paths.append({'path': path, 'test': profile, 'barrier': L.accuracy_barrier(profile, args.barrier)})
    levels = L.accuracy_path(lambda a: bench.query(a, args.dataset, args.hp)['test'], arch, other)
    return {'from': arch, 'to': other, 'distance': L.hamming(arch, other),
            'barrier_definition': args.barrier, 'level_means': levels,
            'barrier': L.accuracy_barrier(levels, args.barrier),
            'min_barrier': min(p['barrier'] for p in paths), 'paths': paths}


def _nan_as_null(value):
    """JSON has no NaN: a value the benchmark lacks (the CSV table's 200-epoch valid) prints as null."""
    if isinstance(value, dict):
        return {k: _nan_as_null(v) for k, v in value.items()}
    return None if isinstance(value, float) and math.isnan(value) else value


def _overrides(args):
    """``--force_yml a:b=v`` entries, plus the deprecated ``--set a.b=v`` ones rewritten to that form."""
    if args.set:
        warn_deprecated('--set key.path=value', '--force_yml key:path=value')
    return list(args.force_yml) + [item.partition('=')[0].replace('.', ':') + '=' + item.partition('=')[2]
                                   for item in args.set]


def _resume(args):
    if args.resume:
        warn_deprecated('--resume PATH', '--auto_resume')
        return args.resume
    return None


def main(argv=None, prog='python -m classification'):
    args = _parser(prog).parse_args(argv)
    try:
        if args.command in ('query', 'landscape'):
            print(json.dumps((_query if args.command == 'query' else _landscape)(args), indent=2))
            return 0
        opt = load_options(args.opt, args.command, _overrides(args))
        if args.command == 'search':
            from classification.search import run_classification_search
            run_classification_search(opt, resume=_resume(args), auto_resume=args.auto_resume)
        elif args.command == 'train':
            from classification.train import run_train
            run_train(opt, resume=_resume(args), auto_resume=args.auto_resume)
        else:
            from classification.train import run_eval
            result = run_eval(opt, checkpoint=args.checkpoint)
            print(json.dumps(result, indent=2))
    except SRNASError as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
