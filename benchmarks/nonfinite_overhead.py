"""What the non-finite check of the search loop's weight step costs, against the step it guards.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/nonfinite_overhead.py [--partial_k 4] [--batch 4] [--patch 48]

On the full-size DLSR supernet (SAC, x2): the median time of one forward + backward of the L1 loss on a random
batch, and the median time of what ``srnas.nas.search_loop`` adds per weight step: the global gradient norm
(``numerics.grad_norm``, skipped when ``train.grad_clip`` computes it anyway) and ``numerics.weight_fault``
(one ``torch.isfinite`` on loss + norm). The alpha step's check reuses the direction the architect computed.
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def median_seconds(fn, repeats):
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--partial_k', type=int, default=4)
    parser.add_argument('--batch', type=int, default=4)
    parser.add_argument('--patch', type=int, default=48, help='LR patch side')
    parser.add_argument('--repeats', type=int, default=7)
    args = parser.parse_args()
    import torch

    from srnas.basicsr_compat import register_plugins
    register_plugins()
    from basicsr.archs import build_network

    from srnas.nas.numerics import grad_norm, weight_fault
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = build_network({'type': 'SRNASDLSRSupernet', 'upscale': 2, 'partial_k': args.partial_k})
    optimizer = torch.optim.Adam(model.weights(), lr=1e-4)
    lr = torch.rand(args.batch, 3, args.patch, args.patch)
    hr = torch.rand(args.batch, 3, 2 * args.patch, 2 * args.patch)
    state = {}

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.l1_loss(model(lr), hr)
        loss.backward()
        state['loss'] = loss

    def check():
        weights = list(model.weights())
        weight_fault(model, optimizer, state['loss'], grad_norm(weights), {'l_pix': float(state['loss'].detach())})

    step()
    step_s = median_seconds(step, args.repeats)
    check_s = median_seconds(check, args.repeats * 5)
    n_tensors = sum(1 for _ in model.weights())
    print(f'DLSR supernet partial_k {args.partial_k}, batch {args.batch}, LR patch {args.patch}, '
          f'{n_tensors} weight tensors, torch {torch.__version__}, 1 thread')
    print(f'forward + backward: {step_s * 1e3:.1f} ms; grad norm + isfinite check: {check_s * 1e3:.2f} ms '
          f'({100 * check_s / step_s:.2f} % of the step)')


if __name__ == '__main__':
    main()
