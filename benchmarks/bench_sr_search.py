"""Seconds per search iteration and memory of SA vs SAC (K=4) in the DLSR and IMDN spaces, on CPU.

    .venv/bin/python benchmarks/bench_sr_search.py [--width demo|paper] [--iters 5] [--batch 4] [--lr_size 24] [--threads 1]

One search iteration = a first-order architect step with the SA loss (arch
batch) + a weight step (train batch), the search loop order (alpha_first). Each
configuration runs in a fresh subprocess so that its peak RSS is its own.
Memory is reported two ways: peak RSS of that process (coarse, includes
torch itself) and the bytes autograd saves for backward in one supernet
forward (deterministic; de-duplicated by storage).
"""
import argparse
import json
import statistics
import subprocess
import sys
import time

CONFIGS = [('dlsr', 1), ('dlsr', 4), ('imdn', 1), ('imdn', 4)]
WIDTHS = {'demo': {'dlsr': {'num_feat': 16}, 'imdn': {'num_feat': 16, 'num_blocks': 3}},
          'paper': {'dlsr': {'num_feat': 48}, 'imdn': {'num_feat': 64, 'num_blocks': 6}}}


def _saved_bytes(model, x):
    import torch
    seen = {}

    def pack(t):
        seen[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(x).abs().mean()
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    return sum(v for k, v in seen.items() if k not in params)


def run_one(space, k, width, iters, batch, lr_size, threads):
    import resource
    import torch
    if threads:
        torch.set_num_threads(threads)
    from srnas.nas.architects import build_architect
    from srnas.spaces.dlsr_supernet import DLSRSupernet
    from srnas.spaces.imdn_supernet import IMDNSupernet
    torch.manual_seed(0)
    kwargs = dict(WIDTHS[width][space], partial_k=k, upscale=2)
    model = DLSRSupernet(**kwargs) if space == 'dlsr' else IMDNSupernet(**kwargs)
    optimizer = torch.optim.Adam(model.weights(), lr=5e-4, weight_decay=1e-8)

    def loss_fn(net, batch_):
        return (net(batch_[0]) - batch_[1]).abs().mean()

    architect = build_architect(model, loss_fn, {'type': 'first_order', 'regularizers': [{'type': 'sa'}],
                                                 'optimizer': {'lr': 3e-4, 'betas': [0.5, 0.999],
                                                               'weight_decay': 1e-8}})

    def batch_():
        return torch.rand(batch, 3, lr_size, lr_size), torch.rand(batch, 3, 2 * lr_size, 2 * lr_size)

    times = []
    for i in range(iters + 1):
        train, arch = batch_(), batch_()
        start = time.perf_counter()
        architect.step(arch, epoch=1)
        optimizer.zero_grad()
        loss_fn(model, train).backward()
        optimizer.step()
        if i:  # the first iteration warms up the allocator and oneDNN
            times.append(time.perf_counter() - start)
    saved = _saved_bytes(model, batch_()[0])
    return {'space': space, 'partial_k': k, 'width': width, 'weights': sum(p.numel() for p in model.weights()),
            'sec_per_iter_median': statistics.median(times), 'sec_per_iter_min': min(times),
            'saved_for_backward_MB': saved / 2 ** 20,
            'peak_rss_MB': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            'threads': torch.get_num_threads(), 'batch': batch, 'lr_size': lr_size}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--width', choices=sorted(WIDTHS), default='demo')
    parser.add_argument('--iters', type=int, default=5)
    parser.add_argument('--batch', type=int, default=4)
    parser.add_argument('--lr_size', type=int, default=24)
    parser.add_argument('--threads', type=int, default=1, help='torch threads (0 = torch default)')
    parser.add_argument('--one', default=None, help=argparse.SUPPRESS)  # internal: 'space,k'
    args = parser.parse_args()
    if args.one:
        space, k = args.one.split(',')
        print(json.dumps(run_one(space, int(k), args.width, args.iters, args.batch, args.lr_size, args.threads)))
        return
    rows = []
    for space, k in CONFIGS:
        out = subprocess.run([sys.executable, __file__, '--one', f'{space},{k}', '--width', args.width,
                              '--iters', str(args.iters), '--batch', str(args.batch), '--lr_size', str(args.lr_size),
                              '--threads', str(args.threads)],
                             check=True, capture_output=True, text=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
    print(f'width={args.width} batch={args.batch} LR {args.lr_size}x{args.lr_size} x2, '
          f'first-order + SA, {args.iters} timed iterations, {rows[0]["threads"]} threads')
    print(f'{"space":6s} {"K":>2s} {"weights":>10s} {"s/iter med":>11s} {"s/iter min":>11s} '
          f'{"saved MB":>9s} {"peak RSS MB":>12s}')
    for r in rows:
        print(f"{r['space']:6s} {r['partial_k']:>2d} {r['weights']:>10,d} {r['sec_per_iter_median']:>11.3f} "
              f"{r['sec_per_iter_min']:>11.3f} {r['saved_for_backward_MB']:>9.1f} {r['peak_rss_MB']:>12.0f}")


if __name__ == '__main__':
    main()
