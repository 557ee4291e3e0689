"""Speed (and on CUDA, peak memory) of the classification networks: supernets and evaluation networks.

    .venv/bin/python benchmarks/bench_classification.py [--device cpu|cuda] [--batch 16] [--rounds 5] [--json out.json]

Each case is one training step (forward + backward + SGD step) on random 32x32
inputs with 10 classes; every round runs every case once (interleaved, so
machine drift hits all cases alike); medians (and minima) over the rounds are
reported. Cases:
  darts_supernet      DartsSearchNetwork, 8 cells, C=16, 8 ops (1,930,618 weights)
  darts_supernet_pc4  the same with partial channels K=4 + edge normalisation (299,578 weights)
  nb201_supernet      NB201SearchNetwork, C=16, N=5 (1,692,826 weights)
  darts_v2_cifar      NetworkCIFAR(DARTS_V2), 20 cells, C=36, auxiliary head (3,349,342 params + aux)
  nb201_tiny_best     TinyNetwork of the best CIFAR-10 cell (1,288,506 params)
"""
import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from classification.darts.eval_net import NetworkCIFAR  # noqa: E402
from classification.darts.genotypes import DARTS_V2  # noqa: E402
from classification.darts.search_net import DartsSearchNetwork  # noqa: E402
from classification.models import forward_logits  # noqa: E402
from classification.nb201.search_net import NB201SearchNetwork  # noqa: E402
from classification.nb201.tiny_network import TinyNetwork  # noqa: E402

BEST_NB201 = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|'
CASES = {
    'darts_supernet': lambda: DartsSearchNetwork(),
    'darts_supernet_pc4': lambda: DartsSearchNetwork(partial_k=4, edge_normalization=True),
    'nb201_supernet': lambda: NB201SearchNetwork(),
    'darts_v2_cifar': lambda: NetworkCIFAR(DARTS_V2, channels=36, layers=20, auxiliary=True, drop_path_prob=0.2),
    'nb201_tiny_best': lambda: TinyNetwork(BEST_NB201),
}


def train_step(model, optimizer, x, y):
    optimizer.zero_grad(set_to_none=True)
    logits, aux = forward_logits(model, x)
    loss = F.cross_entropy(logits, y)
    if aux is not None:
        loss = loss + 0.4 * F.cross_entropy(aux, y)
    loss.backward()
    optimizer.step()


def sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--batch', type=int, default=16)
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument('--cases', nargs='*', default=list(CASES))
    parser.add_argument('--json', default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    x = torch.randn(args.batch, 3, 32, 32, device=device)
    y = torch.randint(0, 10, (args.batch,), device=device)
    setups = {}
    for name in args.cases:
        model = CASES[name]().to(device).train()
        params = model.weights() if hasattr(model, 'weights') else model.parameters()
        setups[name] = (model, torch.optim.SGD(params, lr=0.01, momentum=0.9))
    for _ in range(args.warmup):
        for model, opt in setups.values():
            train_step(model, opt, x, y)
    times = {name: [] for name in setups}
    peak = {}
    for _ in range(args.rounds):
        for name, (model, opt) in setups.items():
            if device.type == 'cuda':
                torch.cuda.reset_peak_memory_stats()
            sync(device)
            t0 = time.perf_counter()
            train_step(model, opt, x, y)
            sync(device)
            times[name].append(time.perf_counter() - t0)
            if device.type == 'cuda':
                peak[name] = torch.cuda.max_memory_allocated() / 2 ** 20
    report = {'device': str(device), 'batch': args.batch, 'rounds': args.rounds, 'threads': torch.get_num_threads(),
              'torch': torch.__version__, 'cases': {}}
    print(f"device {device}, batch {args.batch}, 32x32, {args.rounds} rounds, {torch.get_num_threads()} threads")
    print(f"{'case':<22}{'params':>12}{'median s':>11}{'min s':>9}{'img/s':>9}" + ('  peak MiB' if peak else ''))
    for name, (model, _) in setups.items():
        n_params = sum(p.numel() for p in (model.weights() if hasattr(model, 'weights') else model.parameters()))
        median, best = statistics.median(times[name]), min(times[name])
        report['cases'][name] = {'params': n_params, 'median_s': median, 'min_s': best, 'all_s': times[name],
                                 'peak_mib': peak.get(name)}
        line = f'{name:<22}{n_params:>12,}{median:>11.3f}{best:>9.3f}{args.batch / median:>9.1f}'
        print(line + (f'{peak[name]:>10.0f}' if peak else ''))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
