"""How a search iteration's time and peak memory grow with width, batch, partial-channel K and SR patch size,
and how many gradient bytes a data-parallel search all-reduces per iteration (with an 8-GPU ring estimate).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/scaling.py [--sweeps width,batch,k,sr_patch] [--calls 2]
        [--rounds 1] [--json out.json]
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/scaling.py --sweeps sr_layout --rounds 3   # NCHW vs channels_last
    .venv/bin/python benchmarks/scaling.py --comm-only          # the communication table alone (no timing)

A search iteration is what ``srnas.nas.search_loop.run_search`` does per batch
with the first-order architect: one alpha step (``Architect``, alpha-only
gradient, Adam) on a validation batch, then one weight step (forward, backward,
optimizer) on a training batch. Every point runs in a fresh process: build,
one warm-up iteration, then ``--calls`` timed iterations (median); peak memory
is the peak RSS during warm-up and timed iterations minus the RSS before them
(``benchmarks/peak_memory.py``). CPU, one torch thread, short settings:

  width     DARTS supernet (8 ops, 8 cells), C in 8/16/32, batch 8, 32x32
  batch     DARTS supernet C=16, batch 4/8/16, 32x32
  k         DARTS supernet C=16, batch 8, partial channels K = 1/2/4/8 (PC-DARTS, edge normalisation)
  sr_patch  DLSR supernet x2 (48 features, SAC K=4), batch 2, LR patches 48/64/96 (HR 96..192), L1 loss,
            Adam weights
  sr_layout DLSR x2 SAC K=4 and IMDN x2 SAC K=4 (64 features), batch 2, LR 48, each NCHW and with
            ``network_g.channels_last: true``

``--rounds N`` measures every point of a sweep N times, the points interleaved
(order reversed every other round), and ends with the per-point medians.

Communication: under torchrun every weight step all-reduces the weight gradient
(DDP) and every data-loss gradient an architect takes is averaged over the
ranks (first order: 1 alpha gradient; A2M: 4; second order: the unrolled
step's train gradient w.r.t. the weights, the validation gradient w.r.t.
weights and alpha, then 2 alpha gradients). Bytes are counted from the models
(float32); the time is the ring all-reduce cost model
``2 (N-1)/N * bytes / bandwidth + 2 (N-1) * latency`` for N = 8 ranks at the
bandwidths and per-hop latencies stated in ``LINKS`` (assumptions, not
measurements).
"""
import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MARK = 'SCALING_RESULT '
SWEEPS = {
    'width': [{'space': 'darts', 'channels': c, 'batch': 8} for c in (8, 16, 32)],
    'batch': [{'space': 'darts', 'channels': 16, 'batch': b} for b in (4, 8, 16)],
    'k': [{'space': 'darts', 'channels': 16, 'batch': 8, 'partial_k': k} for k in (1, 2, 4, 8)],
    'sr_patch': [{'space': 'dlsr', 'patch': p, 'batch': 2, 'partial_k': 4} for p in (48, 64, 96)],
    'sr_layout': [{'space': space, 'patch': 48, 'batch': 2, 'partial_k': 4, 'channels_last': cl}
                  for space in ('dlsr', 'imdn') for cl in (False, True)],
}
# (name, bus bandwidth in GB/s, per-hop latency in microseconds): assumptions for the on-paper estimate.
LINKS = (('NVLink (8x H100, NCCL bus bandwidth)', 300.0, 5.0),
         ('PCIe 4.0 x16', 20.0, 10.0),
         ('10 Gb Ethernet between nodes', 1.1, 50.0))
# Gradient all-reduces per search iteration: (weight-sized, alpha-sized), the weight step's DDP one included.
ALLREDUCES = {'first_order': (1, 1), 'a2m': (1, 4), 'second_order': (3, 3)}


def build(point):
    """(model, loss_fn, val_batch, train_batch, weight optimizer) for one sweep point."""
    import torch
    import torch.nn.functional as F
    sys.path.insert(0, str(REPO))
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    if point['space'] == 'darts':
        from classification.darts.search_net import DartsSearchNetwork
        k = point.get('partial_k', 1)
        model = DartsSearchNetwork(channels=point['channels'], num_classes=10, layers=8, partial_k=k,
                                   edge_normalization=k > 1)
        batches = [(torch.randn(point['batch'], 3, 32, 32, generator=gen),
                    torch.randint(0, 10, (point['batch'],), generator=gen)) for _ in range(2)]

        def loss_fn(net, batch):
            return F.cross_entropy(net(batch[0]), batch[1])
        weight_opt = torch.optim.SGD(model.weights(), lr=0.025, momentum=0.9, weight_decay=3e-4)
    else:
        from srnas.spaces.dlsr_supernet import DLSRSupernet
        from srnas.spaces.imdn_supernet import IMDNSupernet
        layout = {'channels_last': point.get('channels_last', False)}
        model = (DLSRSupernet(upscale=2, num_feat=48, partial_k=point['partial_k'], **layout)
                 if point['space'] == 'dlsr' else IMDNSupernet(upscale=2, partial_k=point['partial_k'], **layout))
        size = point['patch']
        batches = [(torch.rand(point['batch'], 3, size, size, generator=gen),
                    torch.rand(point['batch'], 3, 2 * size, 2 * size, generator=gen)) for _ in range(2)]

        def loss_fn(net, batch):
            return F.l1_loss(net(batch[0]), batch[1])
        weight_opt = torch.optim.Adam(model.weights(), lr=5e-4)
    return model.train(), loss_fn, batches[0], batches[1], weight_opt


def worker(point, calls, threads):
    import torch
    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(REPO / 'benchmarks'))
    from peak_memory import PeakMemory
    from srnas.nas.architects import Architect
    torch.set_num_threads(threads)
    model, loss_fn, val_batch, train_batch, weight_opt = build(point)
    architect = Architect(model, loss_fn, {'type': 'first_order'})

    def iteration():
        architect.step(val_batch, epoch=0)
        weight_opt.zero_grad(set_to_none=True)
        loss_fn(model, train_batch).backward()
        weight_opt.step()

    with PeakMemory() as peak:
        iteration()  # warm-up
        walls, cpus = [], []
        for _ in range(calls):
            wall, cpu = time.perf_counter(), time.process_time()
            iteration()
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
    import os
    print(MARK + json.dumps(dict(point, wall_s=statistics.median(walls), cpu_s=statistics.median(cpus),
                                 peak_extra_mb=peak.extra_mb, loadavg_1min=os.getloadavg()[0])), flush=True)


def measure(point, calls, threads):
    import os
    cmd = [sys.executable, str(Path(__file__).resolve()), '--worker', json.dumps(point), '--calls', str(calls),
           '--threads', str(threads)]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(REPO))
    lines = [line for line in proc.stdout.splitlines() if line.startswith(MARK)]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f'scaling: point {point} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}')
    return json.loads(lines[-1][len(MARK):])


def ring_allreduce_s(num_bytes, ranks, bandwidth_gbs, latency_us):
    """Ring all-reduce: reduce-scatter + all-gather, 2 (N-1) steps of bytes/N each."""
    return 2 * (ranks - 1) / ranks * num_bytes / (bandwidth_gbs * 1e9) + 2 * (ranks - 1) * latency_us * 1e-6


def communication(ranks=8):
    """Gradient bytes per all-reduce and per search iteration for the search supernets, with ring estimates."""
    import torch
    sys.path.insert(0, str(REPO))
    from classification.darts.search_net import DartsSearchNetwork
    from classification.nb201.search_net import NB201SearchNetwork
    from srnas.spaces.dlsr_supernet import DLSRSupernet
    from srnas.spaces.imdn_supernet import IMDNSupernet
    models = {'DARTS C=16, 8 cells': DartsSearchNetwork(channels=16, layers=8),
              'PC-DARTS C=16, K=4': DartsSearchNetwork(channels=16, layers=8, partial_k=4, edge_normalization=True),
              'NB201 C=16, N=5': NB201SearchNetwork(channels=16, cells_per_stage=5),
              'DLSR x2, SAC K=4': DLSRSupernet(upscale=2, partial_k=4),
              'IMDN x2': IMDNSupernet(upscale=2)}
    rows = []
    for name, model in models.items():
        weight_bytes = sum(p.numel() * p.element_size() for p in model.weights() if p.requires_grad)
        alpha_bytes = sum(p.numel() * p.element_size() for p in model.arch_parameters())
        row = {'model': name, 'weight_grad_bytes': weight_bytes, 'alpha_grad_bytes': alpha_bytes, 'per_iteration': {}}
        for kind, (n_weight, n_alpha) in ALLREDUCES.items():
            entry = {'bytes': n_weight * weight_bytes + n_alpha * alpha_bytes}
            for link, bandwidth, latency in LINKS:
                entry[link] = (n_weight * ring_allreduce_s(weight_bytes, ranks, bandwidth, latency)
                               + n_alpha * ring_allreduce_s(alpha_bytes, ranks, bandwidth, latency))
            row['per_iteration'][kind] = entry
        rows.append(row)
    del torch
    return rows


def print_communication(rows, ranks=8):
    print(f'\nGradient all-reduce volume per search iteration and ring all-reduce time for {ranks} ranks (model)')
    links = [link for link, _, _ in LINKS]
    print('| supernet | weight grad | alpha grad | architect | bytes / iteration | '
          + ' | '.join(f'{link} ms' for link in links) + ' |')
    print('|---|---|---|---|---|' + '---|' * len(links))
    for row in rows:
        for kind, entry in row['per_iteration'].items():
            print(f"| {row['model']} | {row['weight_grad_bytes'] / 2**20:.2f} MiB | {row['alpha_grad_bytes']} B | "
                  f"{kind} | {entry['bytes'] / 2**20:.2f} MiB | "
                  + ' | '.join(f'{1e3 * entry[link]:.2f}' for link in links) + ' |')
    print('Links assumed: ' + '; '.join(f'{link}: {bw:g} GB/s, {lat:g} us per hop' for link, bw, lat in LINKS))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--sweeps', default=','.join(SWEEPS))
    parser.add_argument('--calls', type=int, default=2, help='timed iterations per point after one warm-up')
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--rounds', type=int, default=1, help='interleaved repetitions of every sweep')
    parser.add_argument('--comm-only', action='store_true', help='print the communication table only')
    parser.add_argument('--json', type=Path)
    parser.add_argument('--worker', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(json.loads(args.worker), args.calls, args.threads)
    sys.path.insert(0, str(REPO))
    from srnas.nas.files import write_mapping
    comm = communication()
    print_communication(comm)
    if args.comm_only:
        return 0
    sweeps = [s for s in args.sweeps.split(',') if s]
    unknown = [s for s in sweeps if s not in SWEEPS]
    if unknown:
        parser.error(f'unknown --sweeps {unknown}; choose from {list(SWEEPS)}')
    results = {}
    for sweep in sweeps:
        results[sweep] = []
        for round_index in range(args.rounds):
            points = SWEEPS[sweep] if round_index % 2 == 0 else SWEEPS[sweep][::-1]
            for point in points:
                sample = dict(measure(point, args.calls, args.threads), round=round_index)
                results[sweep].append(sample)
                print(f"{sweep:<8} {json.dumps(point):<62} {sample['wall_s']:7.3f} s wall {sample['cpu_s']:7.3f} s "
                      f"CPU {sample['peak_extra_mb']:7.0f} MB  load {sample['loadavg_1min']:.2f}", flush=True)
                if args.json:
                    write_mapping(args.json, {'args': {k: str(v) for k, v in vars(args).items()}, 'sweeps': results,
                                              'communication': comm})
    if args.rounds > 1:
        print_medians(results)
    return 0


def point_medians(samples, point):
    """Median wall, CPU and memory of the samples measured at ``point`` (and how many there were)."""
    runs = [s for s in samples if all(s.get(k) == v for k, v in point.items())]
    return {'rounds': len(runs), **{key: statistics.median(r[key] for r in runs)
                                    for key in ('wall_s', 'cpu_s', 'peak_extra_mb')}}


def print_medians(results):
    print('\n| sweep | point | rounds | wall s | CPU s | peak extra MB |\n|---|---|---|---|---|---|')
    for sweep, samples in results.items():
        for point in SWEEPS[sweep]:
            row = point_medians(samples, point)
            print(f"| {sweep} | {json.dumps(point)} | {row['rounds']} | {row['wall_s']:.2f} | {row['cpu_s']:.2f} | "
                  f"{row['peak_extra_mb']:.0f} |")


if __name__ == '__main__':
    sys.exit(main())
