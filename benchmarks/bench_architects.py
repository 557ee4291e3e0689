"""Cost of one architect step (first order, A2M, second order) on the DARTS search supernet, CPU.

    .venv/bin/python benchmarks/bench_architects.py [--primitives 7|8] [--batch 16] [--rounds 7]

The supernet is ``classification.darts.search_net.DartsSearchNetwork`` (8 cells,
C=16, 32x32 inputs, 10 classes), the same size as the DARTS / A2M reference
supernets (notes/nas_architects.md section 3b). Every round runs each kind once
(interleaved, so machine drift hits all kinds alike); medians are reported.
Kinds:
  fwd_bwd_full       forward + backward for weights and alpha (reference cost)
  first_order        Architect(type=first_order).step  (alpha gradient only)
  first_order_darts  DARTS-style first-order step: loss.backward() fills weight
                     grads too, then Adam on alpha (what the official codes time)
  a2m                Architect(type=a2m, rho=0.1, eps=0.01).step
  second_order       Architect(type=second_order).step, SGD(0.025, momentum 0.9, wd 3e-4)
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from classification.darts.search_net import DartsSearchNetwork  # noqa: E402
from srnas.nas.architects import Architect  # noqa: E402
from srnas.nas.files import write_mapping  # noqa: E402

SEVEN_OPS = ('max_pool_3x3', 'avg_pool_3x3', 'skip_connect', 'sep_conv_3x3', 'sep_conv_5x5',
             'dil_conv_3x3', 'dil_conv_5x5')


def cross_entropy(model, batch):
    inputs, targets = batch
    return F.cross_entropy(model(inputs), targets)


def build(primitives, batch_size, seed=0):
    torch.manual_seed(seed)
    kwargs = {} if primitives == 8 else {'primitives': SEVEN_OPS}
    model = DartsSearchNetwork(channels=16, num_classes=10, layers=8, **kwargs).train()
    gen = torch.Generator().manual_seed(seed)
    batch = (torch.randn(batch_size, 3, 32, 32, generator=gen), torch.randint(0, 10, (batch_size,), generator=gen))
    train_batch = (torch.randn(batch_size, 3, 32, 32, generator=gen),
                   torch.randint(0, 10, (batch_size,), generator=gen))
    weight_opt = torch.optim.SGD(model.weights(), lr=0.025, momentum=0.9, weight_decay=3e-4)
    cross_entropy(model, train_batch).backward()  # one weight step so the momentum buffers exist
    weight_opt.step()
    weight_opt.zero_grad(set_to_none=True)
    return model, batch, train_batch, weight_opt


def make_kinds(model, batch, train_batch, weight_opt):
    adam = {'lr': 3e-4, 'betas': [0.5, 0.999], 'weight_decay': 1e-3}
    first = Architect(model, cross_entropy, {'type': 'first_order', 'optimizer': adam})
    a2m = Architect(model, cross_entropy, {'type': 'a2m', 'rho': 0.1, 'eps': 0.01, 'optimizer': adam})
    second = Architect(model, cross_entropy, {'type': 'second_order', 'optimizer': adam}, weight_optimizer=weight_opt)
    darts_opt = torch.optim.Adam(model.arch_parameters(), lr=3e-4, betas=(0.5, 0.999), weight_decay=1e-3)

    def fwd_bwd_full():
        model.zero_grad(set_to_none=True)
        cross_entropy(model, batch).backward()
        model.zero_grad(set_to_none=True)

    def first_order_darts():
        darts_opt.zero_grad(set_to_none=True)
        cross_entropy(model, batch).backward()
        darts_opt.step()
        model.zero_grad(set_to_none=True)

    return {
        'fwd_bwd_full': fwd_bwd_full,
        'first_order': lambda: first.step(batch, epoch=0),
        'first_order_darts': first_order_darts,
        'a2m': lambda: a2m.step(batch, epoch=0),
        'second_order': lambda: second.step(batch, epoch=0, train_batch=train_batch),
    }


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--primitives', type=int, choices=(7, 8), default=7,
                        help='7: A2M s5 op set without none (default); 8: DARTS op set')
    parser.add_argument('--batch', type=int, default=16)
    parser.add_argument('--rounds', type=int, default=7)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--kinds', default='fwd_bwd_full,first_order,first_order_darts,a2m,second_order')
    parser.add_argument('--json', type=Path, help='write all samples and medians here')
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    model, batch, train_batch, weight_opt = build(args.primitives, args.batch)
    kinds = make_kinds(model, batch, train_batch, weight_opt)
    selected = args.kinds.split(',')
    unknown = [k for k in selected if k not in kinds]
    if unknown:
        parser.error(f'unknown kinds {unknown}; choose from {sorted(kinds)}')
    for _ in range(args.warmup):
        for kind in selected:
            kinds[kind]()
    samples = {kind: [] for kind in selected}
    for round_index in range(args.rounds):
        for kind in selected:
            samples[kind].append(timed(kinds[kind]))
        print(f'  round {round_index}: ' + ', '.join(f'{k} {samples[k][-1][0]:.2f}s' for k in selected), flush=True)
    medians = {kind: statistics.median(w for w, _ in runs) for kind, runs in samples.items()}
    print(f'DARTS search supernet, {args.primitives} ops, C=16, 8 cells, batch {args.batch}, '
          f'{args.threads} threads, median of {args.rounds} rounds (torch {torch.__version__}, {os.cpu_count()} CPUs)')
    for kind in selected:
        print(f'  {kind:<18} {medians[kind]:8.3f} s')
    ratios = {}
    for base in ('first_order', 'first_order_darts'):
        for kind in ('a2m', 'second_order'):
            if base in medians and kind in medians:
                per_round = [w[0] / b[0] for w, b in zip(samples[kind], samples[base])]
                ratios[f'{kind}/{base}'] = {'of_medians': medians[kind] / medians[base],
                                            'median_per_round': statistics.median(per_round)}
                print(f'  {kind}/{base}: {medians[kind] / medians[base]:.2f}x '
                      f'(median of per-round ratios {statistics.median(per_round):.2f}x)')
    if args.json:
        write_mapping(args.json, {'args': {k: str(v) for k, v in vars(args).items()}, 'medians_s': medians,
                                  'ratios': ratios, 'samples_wall_cpu_s': samples})
    return 0


if __name__ == '__main__':
    sys.exit(main())
