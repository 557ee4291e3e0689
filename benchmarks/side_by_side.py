"""Side by side with the official codes: srnas against DARTS, PC-DARTS and AsquaredM (A2M), same configuration.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/side_by_side.py --official-root /work/official \
        [--rounds 7] [--cases darts_fwd_bwd,...] [--impls official,srnas] [--json out.json] \
        [--batch 16] [--image-size 32] [--count-ops]

``--official-root`` is a folder OUTSIDE this repository holding snapshots of the
official repositories (bring them with ``git archive`` of a clone; nothing of
them is vendored into srnas)::

    <root>/darts       quark0/darts              (cnn/model_search.py, cnn/architect.py)
    <root>/pcdarts     yuhuixu1993/PC-DARTS      (model_search.py)
    <root>/asquaredm   AI-Tech-Research-Lab/AsquaredM (sota/cnn, nasbench201, optimizers/darts/architect.py)

Their code is PyTorch 0.3/0.4 era: on CPU the official worker turns ``.cuda()``
into a no-op at import time; ``Variable`` and the ``add_(scalar, tensor)``
overloads still work on torch 2.x. Their files are imported, never modified.

``--device cuda`` runs both on the GPU (their ``.cuda()`` calls then do what they
say): times are wall clock between ``torch.cuda.synchronize()`` calls, memory is
the caching allocator's peak over what was allocated after the build
(``max_memory_allocated``), and ``torch.backends.cudnn.benchmark`` is on for both,
as the official search scripts set it; ``--warmup`` calls let it autotune.

Cases (batch 16, 32x32 inputs by default, 10 classes, one torch thread):
  darts_fwd_bwd       DARTS supernet C=16, 8 cells, 4 nodes, 8 ops: forward + backward (weights and alpha)
  darts_first_order   architect step, first order (official: loss.backward() + Adam on alpha)
  darts_second_order  architect step, second order (unrolled SGD 0.025, momentum 0.9, wd 3e-4)
  pcdarts_fwd_bwd     PC-DARTS supernet, K=4, edge normalisation: forward + backward
  a2m_step            A2M architect step on the 7-op space (s5, no none), rho 0.1, eps 0.01
  nb201_fwd_bwd       NAS-Bench-201 supernet C=16, N=5: forward + backward
  nb201_a2m_step      A2M architect step on NB201, rho 0.01, eps 0.01

Implementations (``--impls``): ``official``, and ``srnas`` with optional
modifiers joined by ``+``: ``naive`` (turn the zero-op skip off: every
candidate computed, as before the speed-up), ``plain`` (MixedOp's plain
autograd graph: each candidate its own ReLU, every BN output kept, as before
srnas.nas.lean_autograd), ``cl`` (``channels_last=True``: NHWC
weights and activations), ``bf16`` (bf16 autocast around every loss), ``compile``
(``torch.compile`` of the supernet; the first call's extra time is the compile
time), ``allnhwc`` (with ``cl``: MixedOp's NHWC kernel choices off, i.e. few-channel
BNs and strided dilated depthwise backward in NHWC as before them). E.g.
``--impls official,srnas+naive,srnas``. ``before`` (same modifiers) is srnas from another
checkout given by ``--before-root`` (``git archive <commit> | tar -x -C <dir>``): a
change timed against the code before it in the same interleaved rounds.

Every measurement runs in a FRESH subprocess (so the official modules, which
share names like ``operations``, never meet, and memory is per measurement):
build the model, one warm-up call, then ``--calls`` timed calls (median).
Memory = the process's peak resident set during warm-up and timed calls
(``VmHWM`` of /proc/self/status, reset to the current RSS through
/proc/self/clear_refs just before the warm-up; benchmarks/peak_memory.py)
minus the RSS at that moment: the extra memory the step needs on top of the
built model and inputs. Rounds interleave the implementations (order reversed
every other round), so machine drift hits them alike; the ratio of each round
is taken within the round and its median reported, with the load average.
Times are wall clock and process CPU time (on a loaded machine CPU time is the
steadier of the two; both are given).

Host overhead (``--batch 2 --image-size 8``, with ``--calls 20`` or so): tensors so
small that the kernels' arithmetic is negligible, so the time is what the host
spends per step: Python, autograd bookkeeping and ATen's dispatch of every op.
On a GPU at batch 16, 32x32 the step is bound by that work (each op is at least
one kernel launch), so this CPU setting is a proxy for it, not a GPU
measurement. ``--count-ops`` adds, from one extra untimed step under a
``TorchDispatchMode`` (benchmarks/aten_op_count.py), the number of ATen ops the
step dispatches: all, views (no kernel) and the rest (``aten_kernels``, what a
GPU would launch); counting is independent of the image size.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / 'benchmarks'))
from peak_memory import CudaPeakMemory, PeakMemory  # noqa: E402
CASES = ('darts_fwd_bwd', 'darts_first_order', 'darts_second_order', 'pcdarts_fwd_bwd', 'a2m_step',
         'nb201_fwd_bwd', 'nb201_a2m_step')
SRNAS_MODIFIERS = ('naive', 'plain', 'cl', 'bf16', 'compile', 'allnhwc')
SEVEN_OPS = ('max_pool_3x3', 'avg_pool_3x3', 'skip_connect', 'sep_conv_3x3', 'sep_conv_5x5',
             'dil_conv_3x3', 'dil_conv_5x5')  # A2M s5 (DARTS without none), in the official order
ARCH_ADAM = {'lr': 3e-4, 'betas': [0.5, 0.999], 'weight_decay': 1e-3}
WEIGHT_SGD = {'lr': 0.025, 'momentum': 0.9, 'weight_decay': 3e-4}
MARK = 'SIDE_BY_SIDE_RESULT '


def make_batches(batch_size, device='cpu', seed=0, image_size=32):
    import torch
    gen = torch.Generator().manual_seed(seed)
    return [(torch.randn(batch_size, 3, image_size, image_size, generator=gen).to(device),
             torch.randint(0, 10, (batch_size,), generator=gen).to(device))
            for _ in range(2)]  # (val, train)


# ----------------------------------------------------------------------------------------------- official
def _shim_old_pytorch():
    import torch
    torch.Tensor.cuda = lambda self, *args, **kwargs: self
    torch.nn.Module.cuda = lambda self, *args, **kwargs: self


def _official_args(**extra):
    return SimpleNamespace(momentum=WEIGHT_SGD['momentum'], weight_decay=WEIGHT_SGD['weight_decay'],
                           arch_learning_rate=ARCH_ADAM['lr'], arch_weight_decay=ARCH_ADAM['weight_decay'], **extra)


def weight_optimizer(params, torch):
    """The weight SGD with filled momentum buffers (the unrolled second-order step reads them)."""
    opt = torch.optim.SGD(params, WEIGHT_SGD['lr'], momentum=WEIGHT_SGD['momentum'],
                          weight_decay=WEIGHT_SGD['weight_decay'])
    gen = torch.Generator().manual_seed(1)
    for group in opt.param_groups:
        for param in group['params']:
            opt.state[param]['momentum_buffer'] = 1e-3 * torch.randn(param.shape, generator=gen).to(param.device)
    return opt


def official_step(case, root, batch_size, device, image_size=32):
    import torch
    import torch.nn as nn
    if device.type == 'cpu':
        _shim_old_pytorch()
    torch.manual_seed(0)
    (xv, yv), (xt, yt) = make_batches(batch_size, device, image_size=image_size)
    criterion = nn.CrossEntropyLoss()
    if case in ('darts_fwd_bwd', 'darts_first_order', 'darts_second_order'):
        sys.path.insert(0, str(root / 'darts' / 'cnn'))
        import architect as darts_architect
        import model_search
        model = model_search.Network(16, 10, 8, criterion).to(device).train()
        if case == 'darts_fwd_bwd':
            return _fwd_bwd(model, lambda: model._loss(xv, yv))
        opt = weight_optimizer(model.parameters(), torch)
        arch = darts_architect.Architect(model, _official_args())
        unrolled = case == 'darts_second_order'

        def step():
            arch.step(xt, yt, xv, yv, WEIGHT_SGD['lr'], opt, unrolled)
            model.zero_grad(set_to_none=True)  # the training loop's optimizer.zero_grad() before the weight step
        return step
    if case == 'pcdarts_fwd_bwd':
        sys.path.insert(0, str(root / 'pcdarts'))
        import model_search
        model = model_search.Network(16, 10, 8, criterion).to(device).train()
        return _fwd_bwd(model, lambda: model._loss(xv, yv))
    sys.path.insert(0, str(root / 'asquaredm'))
    from optimizers.darts.architect import Architect
    if case == 'a2m_step':
        from sota.cnn.model_search import Network
        from sota.cnn.spaces import spaces_dict
        model = Network(16, 10, 8, criterion, spaces_dict['s5']).to(device).train()
        params, rho = model.parameters(), 0.1
    else:
        from nasbench201.model import Network
        from operations import NAS_BENCH_201
        model = Network(16, 5, 4, 10, criterion, search_space=NAS_BENCH_201).to(device).train()
        if case == 'nb201_fwd_bwd':
            return _fwd_bwd(model, lambda: model._loss(xv, yv))
        params, rho = model.get_weights(), 0.01
    opt = weight_optimizer(params, torch)
    arch = Architect(model, _official_args(sam=True, rho_alpha_sam=rho, epsilon_sam=0.01, k_sam=1))

    def step():
        arch.step(xt, yt, xv, yv, WEIGHT_SGD['lr'], opt, 0, False)
        model.zero_grad(set_to_none=True)
    return step


def _fwd_bwd(model, loss_fn):
    def step():
        model.zero_grad(set_to_none=True)
        loss_fn().backward()
        model.zero_grad(set_to_none=True)
    return step


# -------------------------------------------------------------------------------------------------- srnas
def srnas_step(case, modifiers, batch_size, device, image_size=32, root=REPO):
    import contextlib

    import torch
    import torch.nn.functional as F
    sys.path.insert(0, str(root))  # this checkout, or --before-root's
    from classification.darts.search_net import DartsSearchNetwork
    from classification.nb201.search_net import NB201SearchNetwork
    from srnas.nas import MixedOp
    from srnas.nas.architects import Architect

    torch.manual_seed(0)
    (xv, yv), (xt, yt) = make_batches(batch_size, device, image_size=image_size)
    nhwc = 'cl' in modifiers  # space.channels_last
    if case in ('darts_fwd_bwd', 'darts_first_order', 'darts_second_order'):
        model = DartsSearchNetwork(channels=16, num_classes=10, layers=8, channels_last=nhwc)
    elif case == 'pcdarts_fwd_bwd':
        model = DartsSearchNetwork(channels=16, num_classes=10, layers=8, partial_k=4, edge_normalization=True,
                                   channels_last=nhwc)
    elif case == 'a2m_step':
        model = DartsSearchNetwork(channels=16, num_classes=10, layers=8, primitives=SEVEN_OPS, channels_last=nhwc)
    else:
        model = NB201SearchNetwork(channels=16, cells_per_stage=5, num_classes=10, channels_last=nhwc)
    model.to(device).train()
    if 'naive' in modifiers:
        for module in model.modules():
            if isinstance(module, MixedOp):
                module.skip_zero_candidates = False
    if 'plain' in modifiers:
        for module in model.modules():
            if isinstance(module, MixedOp):
                module.lean_autograd = False
    if 'allnhwc' in modifiers:
        for module in model.modules():
            if isinstance(module, MixedOp):
                module.nhwc_batch_norm_min_channels = 0
                module.nchw_backward_for_strided_dilated_convs = False
    if nhwc:  # the supernet converts its input too; converting here keeps that copy out of the timing
        xv, xt = (x.contiguous(memory_format=torch.channels_last) for x in (xv, xt))
    forward = torch.compile(model) if 'compile' in modifiers else model
    autocast = ((lambda: torch.autocast(device.type, dtype=torch.bfloat16)) if 'bf16' in modifiers
                else contextlib.nullcontext)

    def loss_fn(_model, batch):
        with autocast():
            return F.cross_entropy(forward(batch[0]), batch[1])

    if case.endswith('fwd_bwd'):
        return _fwd_bwd(model, lambda: loss_fn(model, (xv, yv)))
    weight_opt = weight_optimizer(model.weights(), torch)
    if case == 'darts_first_order':
        config = {'type': 'first_order'}
    elif case == 'darts_second_order':
        config = {'type': 'second_order'}
    else:
        config = {'type': 'a2m', 'rho': 0.1 if case == 'a2m_step' else 0.01, 'eps': 0.01}
    arch = Architect(model, loss_fn, dict(config, optimizer=ARCH_ADAM), weight_optimizer=weight_opt)
    return lambda: arch.step((xv, yv), epoch=0, train_batch=(xt, yt))


# ------------------------------------------------------------------------------------------------- worker
def worker(args):
    import torch
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    on_gpu = device.type == 'cuda'
    if on_gpu:
        device = torch.device('cuda', device.index if device.index is not None else torch.cuda.current_device())
        torch.cuda.set_device(device)
        torch.backends.cudnn.benchmark = True
    sync = (lambda: torch.cuda.synchronize(device)) if on_gpu else (lambda: None)
    impl, *modifiers = args.impl.split('+')
    start = time.perf_counter()
    if impl == 'official':
        step = official_step(args.case, args.official_root.resolve(), args.batch, device, args.image_size)
    else:
        root = args.before_root.resolve() if impl == 'before' else REPO
        step = srnas_step(args.case, set(modifiers), args.batch, device, args.image_size, root)
    build_s = time.perf_counter() - start
    with (CudaPeakMemory(device) if on_gpu else PeakMemory()) as peak:
        start = time.perf_counter()
        for _ in range(args.warmup):
            step()  # warm-up (includes torch.compile's compilation and cudnn's autotuning)
        sync()
        first_s = time.perf_counter() - start
        walls, cpus = [], []
        for _ in range(args.calls):
            sync()
            wall, cpu = time.perf_counter(), time.process_time()
            step()
            sync()
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
    result = {'impl': args.impl, 'case': args.case, 'wall_s': statistics.median(walls), 'cpu_s': statistics.median(cpus),
              'first_call_s': first_s, 'build_s': build_s, 'peak_extra_mb': peak.extra_mb,
              'base_mb': peak.start_mb, 'loadavg_1min': os.getloadavg()[0],
              'device': torch.cuda.get_device_name(device) if on_gpu else 'cpu'}
    if args.count_ops:  # after the timing and the memory peak: the counter's Python calls are slow
        from aten_op_count import AtenOpCounter
        with AtenOpCounter() as counter:
            step()
            sync()
        result.update(counter.summary())
    print(MARK + json.dumps(result), flush=True)


# ------------------------------------------------------------------------------------------------- parent
def measure(args, case, impl):
    cmd = [sys.executable, str(Path(__file__).resolve()), '--worker', '--case', case, '--impl', impl,
           '--batch', str(args.batch), '--calls', str(args.calls), '--threads', str(args.threads),
           '--device', args.device, '--warmup', str(args.warmup), '--image-size', str(args.image_size)]
    if args.count_ops:
        cmd.append('--count-ops')
    if args.official_root is not None:
        cmd += ['--official-root', str(args.official_root)]
    if args.before_root is not None:
        cmd += ['--before-root', str(args.before_root)]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(REPO))
    lines = [line for line in proc.stdout.splitlines() if line.startswith(MARK)]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f'side_by_side: worker {impl} / {case} failed (exit {proc.returncode}):\n'
                         f'{proc.stderr[-3000:]}')
    return json.loads(lines[-1][len(MARK):])


def summarise(samples, impls):
    """Per case: median time / memory per impl, and medians of the per-round ratios against impls[0]."""
    base = impls[0]
    table = {}
    for case, by_impl in samples.items():
        rows = {}
        for impl in impls:
            runs = by_impl.get(impl, [])
            if not runs:
                continue
            rows[impl] = {'wall_s': statistics.median(r['wall_s'] for r in runs),
                          'cpu_s': statistics.median(r['cpu_s'] for r in runs),
                          'peak_extra_mb': statistics.median(r['peak_extra_mb'] for r in runs),
                          'first_call_s': statistics.median(r['first_call_s'] for r in runs), 'rounds': len(runs)}
            if all('aten_kernels' in r for r in runs):  # --count-ops (the same count every round)
                for key in ('aten_ops', 'aten_views', 'aten_kernels'):
                    rows[impl][key] = statistics.median(r[key] for r in runs)
            if impl != base and by_impl.get(base):
                pairs = list(zip(runs, by_impl[base]))
                rows[impl]['time_ratio'] = statistics.median(r['wall_s'] / b['wall_s'] for r, b in pairs)
                rows[impl]['cpu_ratio'] = statistics.median(r['cpu_s'] / b['cpu_s'] for r, b in pairs)
                rows[impl]['memory_ratio'] = statistics.median(r['peak_extra_mb'] / b['peak_extra_mb'] for r, b in pairs)
        table[case] = rows
    return table


def markdown(table, impls):
    base = impls[0]
    counted = all('aten_kernels' in row for rows in table.values() for row in rows.values())
    lines = [f'| case | impl | wall s | CPU s | peak extra MB | wall / {base} | CPU / {base} | memory / {base} |'
             + (' ATen ops (kernels) |' if counted else ''),
             '|---|---|---|---|---|---|---|---|' + ('---|' if counted else '')]
    for case, rows in table.items():
        for impl, row in rows.items():
            ratio = (f"{row['time_ratio']:.2f}x | {row['cpu_ratio']:.2f}x | {row['memory_ratio']:.2f}x"
                     if 'time_ratio' in row else '- | - | -')
            ops = f" {row['aten_ops']:.0f} ({row['aten_kernels']:.0f}) |" if counted else ''
            lines.append(f"| {case} | {impl} | {row['wall_s']:.3f} | {row['cpu_s']:.3f} | "
                         f"{row['peak_extra_mb']:.0f} | {ratio} |{ops}")
    return '\n'.join(lines)


def print_saved(path, base=None):
    """The table of a (possibly interrupted) run, cut to the rounds every case and impl completed."""
    sys.path.insert(0, str(REPO))
    from srnas.nas.files import read_mapping
    saved = read_mapping(path, 'side-by-side results')
    # cases a stopped run never reached are left out; the others are cut to their common complete rounds
    samples = {case: by_impl for case, by_impl in saved['samples'].items() if all(by_impl.values())}
    if not samples:
        raise SystemExit(f'side_by_side: {path} holds no case measured for every implementation')
    impls = [i for i in saved['args']['impls'].split(',') if i]
    if base is not None:  # the ratios against another impl of the run (e.g. srnas against 'before')
        if base not in impls:
            raise SystemExit(f'side_by_side: --base {base} is not one of the saved impls {impls}')
        impls = [base] + [i for i in impls if i != base]
    complete = min(len(runs) for by_impl in samples.values() for runs in by_impl.values())
    samples = {case: {impl: runs[:complete] for impl, runs in by_impl.items()} for case, by_impl in samples.items()}
    loads = [s['loadavg_1min'] for by_impl in samples.values() for runs in by_impl.values() for s in runs]
    print(f'{complete} complete rounds; 1-min load average: median {statistics.median(loads):.2f}, '
          f'min {min(loads):.2f}, max {max(loads):.2f}')
    print(markdown(summarise(samples, impls), impls))
    return 0


def save_json(args, load, samples, summary):
    """Every sample so far and their summary (rewritten after each measurement: an interrupted run keeps its rounds)."""
    from srnas.nas.files import write_mapping
    write_mapping(args.json, {'args': {k: str(v) for k, v in vars(args).items()}, 'load': load,
                              'samples': samples, 'summary': summary})


def parse_impls(text, official_root, before_root=None):
    impls = [i for i in text.split(',') if i]
    for impl in impls:
        name, *mods = impl.split('+')
        if (name not in ('official', 'srnas', 'before') or (name == 'official' and mods)
                or set(mods) - set(SRNAS_MODIFIERS)):
            raise SystemExit(f"side_by_side: --impls entry '{impl}' must be 'official', or 'srnas' / 'before' with "
                             f'modifiers from {SRNAS_MODIFIERS} joined by +')
        if name == 'before' and (before_root is None or not (before_root / 'srnas' / 'nas' / 'mixed_op.py').is_file()):
            raise SystemExit(f"side_by_side: --impls entry '{impl}' needs --before-root, a srnas checkout "
                             f'(got {before_root})')
    if 'official' in impls:
        if official_root is None:
            raise SystemExit("side_by_side: --impls has 'official' but no --official-root was given")
        missing = [sub for sub in ('darts/cnn/model_search.py', 'pcdarts/model_search.py',
                                   'asquaredm/optimizers/darts/architect.py') if not (official_root / sub).is_file()]
        if missing:
            raise SystemExit(f'side_by_side: --official-root {official_root} lacks {missing} '
                             f'(see the layout in this script\'s docstring)')
    return impls


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--official-root', type=Path, help='folder with darts/, pcdarts/, asquaredm/ (outside the repo)')
    parser.add_argument('--before-root', type=Path,
                        help="another srnas checkout (a 'git archive' of an earlier commit), timed as impl 'before'")
    parser.add_argument('--cases', default=','.join(CASES))
    parser.add_argument('--impls', default='official,srnas')
    parser.add_argument('--rounds', type=int, default=7)
    parser.add_argument('--calls', type=int, default=1, help='timed calls per measurement after one warm-up')
    parser.add_argument('--batch', type=int, default=16)
    parser.add_argument('--image-size', type=int, default=32,
                        help='input height and width (8 with --batch 2: the host-overhead setting, see above)')
    parser.add_argument('--count-ops', action='store_true',
                        help='count the ATen ops of one extra untimed step (benchmarks/aten_op_count.py)')
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--device', default='cpu', help="'cpu' or a CUDA device ('cuda', 'cuda:1')")
    parser.add_argument('--warmup', type=int, default=1, help='untimed calls before the timed ones')
    parser.add_argument('--json', type=Path, help='write every sample and the summary here (after each measurement)')
    parser.add_argument('--base', help='with --from-json: the impl the ratios are taken against (default: the first)')
    parser.add_argument('--from-json', type=Path,
                        help='print the table of an earlier --json file, using only its complete rounds')
    parser.add_argument('--worker', action='store_true', help=argparse.SUPPRESS)
    parser.add_argument('--case', help=argparse.SUPPRESS)
    parser.add_argument('--impl', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)
    if args.from_json:
        return print_saved(args.from_json, args.base)
    cases = [c for c in args.cases.split(',') if c]
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        parser.error(f'unknown --cases {unknown}; choose from {list(CASES)}')
    impls = parse_impls(args.impls, args.official_root, args.before_root)
    sys.path.insert(0, str(REPO))
    samples = {case: {impl: [] for impl in impls} for case in cases}
    load = {'start': os.getloadavg()}
    for round_index in range(args.rounds):
        order = impls if round_index % 2 == 0 else impls[::-1]
        for case in cases:
            for impl in order:
                sample = measure(args, case, impl)
                samples[case][impl].append(sample)
                ops = f"  {sample['aten_kernels']} kernels" if 'aten_kernels' in sample else ''
                print(f"round {round_index} {case:<19} {impl:<22} {sample['wall_s']:7.3f} s "
                      f"{sample['peak_extra_mb']:7.0f} MB  load {sample['loadavg_1min']:.2f}{ops}", flush=True)
                if args.json:
                    save_json(args, load, samples, summarise(samples, impls))
    load['end'] = os.getloadavg()
    table = summarise(samples, impls)
    loads = [s['loadavg_1min'] for by_impl in samples.values() for runs in by_impl.values() for s in runs]
    print(f'\n{args.rounds} rounds on {args.device}, batch {args.batch}, {args.image_size}x{args.image_size}, '
          f'{args.threads} thread(s); 1-min load average during the run: '
          f'median {statistics.median(loads):.2f}, min {min(loads):.2f}, max {max(loads):.2f}')
    print(markdown(table, impls))
    if args.json:
        save_json(args, load, samples, table)
    return 0


if __name__ == '__main__':
    sys.exit(main())
