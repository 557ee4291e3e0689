"""Where torch.compile's time goes on a search supernet, and what a compiled step gains (CPU, one thread).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/compile_probe.py --case nb201 --scope model [--backend inductor]
        [--channels-last] [--explain] [--calls 3] [--json out.json]

One configuration per process (run it in a fresh one: memory and the
compile caches are per process; ``TORCHINDUCTOR_CACHE_DIR`` is set to a new
empty folder unless ``--warm-cache`` so the compile time is a cold one).

``--scope model`` compiles the whole supernet (what ``side_by_side.py``'s
``compile`` modifier does); ``--scope cell`` compiles each search cell
(``nn.Module.compile``; cells of one shape share a compiled graph) and leaves
the stem, the reductions and the head eager. ``--backend aot_eager`` traces and
differentiates like inductor but runs the captured graph eagerly: the
difference to ``inductor`` is inductor's code generation and C++ compilation.
``--explain`` prints ``torch._dynamo.explain`` of the forward: graphs, graph
breaks and their reasons.

Printed: the first forward + backward (with compilation), the median of
``--calls`` further ones (wall and process CPU time), the peak extra memory
(benchmarks/peak_memory.py), the number of C++ kernels inductor built, and the
largest differences of loss and gradients against the eager supernet built
from the same weights.
"""
import argparse
import copy
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MARK = 'COMPILE_PROBE_RESULT '


def build(case, channels_last):
    import torch
    sys.path.insert(0, str(REPO))
    torch.manual_seed(0)
    if case == 'nb201':
        from classification.nb201.search_net import NB201SearchCell, NB201SearchNetwork
        model = NB201SearchNetwork(channels=16, cells_per_stage=5, num_classes=10, channels_last=channels_last)
        cell_type = NB201SearchCell
    else:
        from classification.darts.search_net import DartsSearchNetwork, SearchCell
        model = DartsSearchNetwork(channels=16, num_classes=10, layers=8, channels_last=channels_last)
        cell_type = SearchCell
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(16, 3, 32, 32, generator=gen)
    y = torch.randint(0, 10, (16,), generator=gen)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return model.train(), cell_type, x, y


def loss_and_grads(model, x, y):
    import torch
    import torch.nn.functional as F
    loss = F.cross_entropy(model(x), y)
    grads = torch.autograd.grad(loss, list(model.parameters()))
    return loss.detach(), grads


def largest_gradient_gap(grads, reference):
    """max over tensors of max |g - g_ref| / max |g_ref| (0 where the reference gradient is 0)."""
    gaps = []
    for g, ref in zip(grads, reference):
        scale = float(ref.abs().max())
        gaps.append(float((g - ref).abs().max()) / scale if scale > 0 else float(g.abs().max()))
    return max(gaps)


def probe(args):
    import torch
    sys.path.insert(0, str(REPO / 'benchmarks'))
    from peak_memory import PeakMemory
    torch.set_num_threads(1)
    model, cell_type, x, y = build(args.case, args.channels_last)
    eager = copy.deepcopy(model)  # same weights and BN buffers: the reference step
    ref_loss, ref_grads = loss_and_grads(eager, x, y)
    del eager
    result = {'case': args.case, 'scope': args.scope, 'backend': args.backend, 'channels_last': args.channels_last}
    if args.explain:
        import torch._dynamo
        explained = torch._dynamo.explain(copy.deepcopy(model))(x)
        reasons = sorted({str(b.reason).splitlines()[0][:160] for b in explained.break_reasons})
        result.update(graphs=explained.graph_count, graph_breaks=explained.graph_break_count,
                      ops_in_graphs=explained.op_count, break_reasons=reasons)
        torch._dynamo.reset()
    if args.scope == 'model':
        compiled = torch.compile(model, backend=args.backend, dynamic=False)
    else:
        cells = [m for m in model.modules() if isinstance(m, cell_type)]
        for cell in cells:
            cell.compile(backend=args.backend, dynamic=False)
        compiled = model
        result['compiled_cells'] = len(cells)
    cache = Path(os.environ.get('TORCHINDUCTOR_CACHE_DIR', '.'))
    before = set(cache.rglob('*.so')) if args.backend == 'inductor' else set()
    with PeakMemory() as peak:
        start, cpu = time.perf_counter(), time.process_time()
        loss, grads = loss_and_grads(compiled, x, y)
        result['first_call_s'] = time.perf_counter() - start
        result['first_call_cpu_s'] = time.process_time() - cpu  # this process only (g++ runs in children)
        walls, cpus = [], []
        for _ in range(args.calls):
            wall, cpu = time.perf_counter(), time.process_time()
            loss_and_grads(compiled, x, y)
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
    result.update(wall_s=statistics.median(walls), cpu_s=statistics.median(cpus), peak_extra_mb=peak.extra_mb,
                  loss_gap=abs(float(loss) - float(ref_loss)), grad_gap=largest_gradient_gap(grads, ref_grads),
                  loadavg_1min=os.getloadavg()[0])
    if args.backend == 'inductor':
        result['kernels_built'] = len(set(cache.rglob('*.so')) - before)
    print(MARK + json.dumps(result), flush=True)
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--case', choices=('nb201', 'darts'), default='nb201')
    parser.add_argument('--scope', choices=('model', 'cell'), default='model')
    parser.add_argument('--backend', choices=('inductor', 'aot_eager'), default='inductor')
    parser.add_argument('--channels-last', action='store_true')
    parser.add_argument('--explain', action='store_true')
    parser.add_argument('--calls', type=int, default=3)
    parser.add_argument('--warm-cache', action='store_true', help='keep the default inductor cache')
    parser.add_argument('--json', type=Path)
    args = parser.parse_args(argv)
    if args.warm_cache or 'TORCHINDUCTOR_CACHE_DIR' in os.environ:
        result = probe(args)
    else:
        with tempfile.TemporaryDirectory(prefix='srnas_inductor_') as cache:
            os.environ['TORCHINDUCTOR_CACHE_DIR'] = cache  # read when inductor first compiles (below)
            result = probe(args)
    if args.json:
        sys.path.insert(0, str(REPO))
        from srnas.nas.files import write_mapping
        write_mapping(args.json, result)
    return 0


if __name__ == '__main__':
    sys.exit(main())
