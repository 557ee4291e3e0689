"""Which layer makes a supernet's gradients wrong? Module-by-module comparison against a float64 CPU truth.

    python benchmarks/localise_gradient_error.py --case darts --device cuda --channels_last

Written for the one open GPU question (docs/benchmarks.md, "On a GPU"): on an H100 the channels_last
DARTS / PC-DARTS / NB201 supernets gave float32 gradients 0.014-0.37 off (relative L2) while the loss was
right. GPU time is scarce, so this finds the layer in one call. The truth is the same supernet, same
weights and inputs, NCHW in float64 on the CPU; the run under test is on ``--device`` in ``--dtype``
with ``--channels_last`` as asked. Every leaf module records its output in forward and the gradient of
that output in backward, in both runs; the report gives, per module in execution order, the error of
each as a relative L2 norm (``||a - t|| / ||t||``: a flipped kink moves
a few entries, which a max-entry measure would magnify), then:

* the first module whose forward output is off (a forward bug starts at or before it), and
* walking backward from the loss, the last module whose output gradient is still right and the first
  whose output gradient is off: the backward that went wrong lies between those two outputs.

Float32 against float64 flips a few ReLU / max-pool decisions (about 1e-2 of a gradient's scale each,
docs/benchmarks.md "How accurate are channels_last float32 gradients?"), hence the default tolerance.
The hooks turn MixedOp's lean autograd graph off (it leaves hooked layers to the plain graph), so this
compares the plain graph: if it finds nothing while the whole gradients are off with the lean graph
(tests/gpu/test_cuda_supernets.py), the lean graph's own functions are the suspects.
"""
import argparse
from dataclasses import dataclass, field
from typing import Callable, List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Record:
    """One call of one leaf module: its output, and the gradient of that output once backward ran."""
    name: str
    output: torch.Tensor
    grad: Optional[torch.Tensor] = None


@dataclass
class Comparison:
    name: str
    forward_error: float
    grad_error: Optional[float]  # None: no gradient reached this output in one of the runs


@dataclass
class Report:
    rows: List[Comparison] = field(default_factory=list)
    first_forward_off: Optional[str] = None
    backward_off_between: Optional[tuple] = None  # (module whose output gradient is off, last right one or None)


def _leaf_modules(model):
    return [(name, module) for name, module in model.named_modules() if not list(module.children())]


def record_calls(model: nn.Module, run: Callable[[], torch.Tensor]) -> List[Record]:
    """Run ``run()`` (forward + loss) and its backward, recording every leaf module call in order."""
    records: List[Record] = []

    def hook(name):
        def on_forward(_module, _inputs, output):
            if not isinstance(output, torch.Tensor):
                return
            record = Record(name, output.detach().double().cpu())
            records.append(record)
            if output.requires_grad:
                output.register_hook(lambda grad: setattr(record, 'grad', grad.detach().double().cpu()))
        return on_forward

    handles = [module.register_forward_hook(hook(name)) for name, module in _leaf_modules(model)]
    try:
        run().backward()
    finally:
        for handle in handles:
            handle.remove()
    return records


def _relative_error(got, truth):
    if got.shape != truth.shape:
        return float('inf')
    return float((got - truth).norm() / truth.norm().clamp_min(1e-30))


def compare(truth: List[Record], test: List[Record], tolerance: float) -> Report:
    """Pair the two runs' calls in order and locate the first forward and backward departures."""
    if [r.name for r in truth] != [r.name for r in test]:
        raise ValueError('the two runs called different modules (or in a different order)')
    report = Report()
    for t, g in zip(truth, test):
        has_grads = t.grad is not None and g.grad is not None
        report.rows.append(Comparison(t.name, _relative_error(g.output, t.output),
                                      _relative_error(g.grad, t.grad) if has_grads else None))
    report.first_forward_off = next((r.name for r in report.rows if r.forward_error > tolerance), None)
    last_right = None
    for row in reversed(report.rows):  # the order backward computes the output gradients
        if row.grad_error is None:
            continue
        if row.grad_error > tolerance:
            report.backward_off_between = (row.name, last_right)
            break
        last_right = row.name
    return report


def _cast(t, device='cpu', dtype=torch.float64):
    """Floating tensors to (device, dtype); class labels only to the device."""
    return t.to(device=device, dtype=dtype) if t.is_floating_point() else t.to(device)


def localise(build: Callable[[bool], nn.Module], inputs, loss_fn, device='cpu', dtype=torch.float32,
             channels_last=False, tolerance=0.05) -> Report:
    """``build(channels_last)`` twice, same weights: float64 NCHW CPU truth against (device, dtype, layout)."""
    truth_model = build(False).double().train()
    test_model = build(channels_last).to(device=device, dtype=dtype).train()
    test_model.load_state_dict(truth_model.state_dict())
    x, y = inputs
    layout = torch.channels_last if channels_last else torch.contiguous_format
    if channels_last:
        test_model.to(memory_format=layout)
    x_test = _cast(x, device, dtype).contiguous(memory_format=layout)
    truth = record_calls(truth_model, lambda: loss_fn(truth_model(_cast(x)), _cast(y)))
    test = record_calls(test_model, lambda: loss_fn(test_model(x_test), _cast(y, device, dtype)))
    return compare(truth, test, tolerance)


def _case(name):
    from classification.darts.search_net import DartsSearchNetwork
    from classification.nb201.search_net import NB201SearchNetwork
    from srnas.spaces.dlsr_supernet import DLSRSupernet
    from srnas.spaces.imdn_supernet import IMDNSupernet
    gen = torch.Generator().manual_seed(1)
    images = torch.randn(8, 3, 32, 32, generator=gen), torch.randint(0, 10, (8,), generator=gen)
    pairs = torch.rand(4, 3, 16, 16, generator=gen), torch.rand(4, 3, 32, 32, generator=gen)
    cases = {  # the configurations of tests/gpu/test_cuda_supernets.py
        'darts': (lambda cl: DartsSearchNetwork(channels=8, num_classes=10, layers=3, channels_last=cl),
                  images, F.cross_entropy),
        'pcdarts': (lambda cl: DartsSearchNetwork(channels=8, num_classes=10, layers=3, partial_k=4,
                                                  edge_normalization=True, channels_last=cl), images, F.cross_entropy),
        'nb201': (lambda cl: NB201SearchNetwork(channels=8, cells_per_stage=1, num_classes=10, channels_last=cl),
                  images, F.cross_entropy),
        'sac_dlsr': (lambda cl: DLSRSupernet(upscale=2, num_feat=8, partial_k=2, channels_last=cl), pairs, F.l1_loss),
        'sac_imdn': (lambda cl: IMDNSupernet(upscale=2, num_feat=16, num_blocks=1, partial_k=2, channels_last=cl),
                     pairs, F.l1_loss),
    }
    return cases[name]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--case', default='darts', choices=['darts', 'pcdarts', 'nb201', 'sac_dlsr', 'sac_imdn'])
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--dtype', default='float32', choices=['float32', 'float64'])
    parser.add_argument('--channels_last', action='store_true')
    parser.add_argument('--tolerance', type=float, default=0.05)
    parser.add_argument('--rows', type=int, default=0, help='print every row (0: only the summary and the worst 15)')
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    build, inputs, loss_fn = _case(args.case)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False

    def build_seeded(channels_last):
        torch.manual_seed(0)
        return build(channels_last)

    report = localise(build_seeded, inputs, loss_fn, args.device, getattr(torch, args.dtype),
                      args.channels_last, args.tolerance)
    rows = report.rows if args.rows else sorted(report.rows, key=lambda r: -(r.grad_error or 0))[:15]
    print(f'{args.case} on {args.device} {args.dtype} {"channels_last" if args.channels_last else "NCHW"} '
          f'(plain graph): {len(report.rows)} module calls')
    print('| module | forward error | output-gradient error |\n|---|---|---|')
    for row in rows:
        grad = '-' if row.grad_error is None else f'{row.grad_error:.1e}'
        print(f'| {row.name} | {row.forward_error:.1e} | {grad} |')
    print(f'first forward output off (> {args.tolerance}): {report.first_forward_off}')
    if report.backward_off_between:
        off, right = report.backward_off_between
        print(f'backward goes wrong between the output of {off} (gradient off) and of {right} (still right)')
    else:
        print('no output gradient off')


if __name__ == '__main__':
    main()
