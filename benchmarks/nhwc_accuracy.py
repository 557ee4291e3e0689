"""Why float32 channels_last gradients of the supernets sit further from float64 than NCHW ones (issue 10).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/nhwc_accuracy.py [--seeds 6] [--time-rounds 3]

Three tables, one torch thread, float64 NCHW as the truth:

1. Two ops alone, float32 NCHW and NHWC: affine-free BatchNorm2d in training mode (error of the batch
   mean in units of the channel's std, of the output, of the input gradient) and the weight gradient
   of a 1x1 convolution. It also checks the BN mechanism bit for bit: ATen's channels_last CPU kernel
   sums each channel row by row in float32 (the NCHW kernel accumulates in double), so its batch mean
   equals a float32 row-by-row sum.
2. Whole supernets (a float64 NCHW copy with the same state_dict; autograd.grad over all parameters):
   the worst per-parameter error ``max|g - t| / (max|t| + 1e-6 max_all|t|)``, the number of ReLU /
   LeakyReLU signs and max-pool argmaxes that came out differently in float32 ("flips": distinct input
   elements), and the same error with the float32 run made to take float64's decisions at those kinks
   ("pinned": pure rounding, no flipped branch). Parameters whose exact gradient is 0 (a conv bias right
   before an affine-free BN) are left out of the worst error and reported apart (max|g| / max_all|t|).
   Variants run chosen ops of the NHWC supernet on NCHW copies (the workaround being measured).
3. CPU time of one forward + backward of the DARTS supernet (C=16, 8 cells, batch 16, 32x32) in those
   variants, interleaved rounds, medians.

The supernets run with ``MixedOp.lean_autograd = False`` here so that every ReLU, max pool, conv and BN
is a module call the script can watch or move (the lean graph gives the same worst errors). Function
calls are not watched: the 2x2 max pool of PC-DARTS's stride-2 bypass can flip unseen.
"""
import argparse
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from classification.darts.search_net import DartsSearchNetwork
from srnas.nas import MixedOp
from srnas.spaces.imdn_supernet import IMDNSupernet

NHWC = torch.channels_last
NCHW = torch.contiguous_format
VARIANTS = ('NCHW', 'NHWC', 'NHWC, BN in NCHW', 'NHWC, BN forward in NCHW', 'NHWC, BN backward in NCHW',
            'NHWC, BN + 1x1 convs in NCHW')
TIMED_VARIANTS = ('NCHW', 'NHWC', 'NHWC, BN in NCHW', 'NHWC, BN + 1x1 convs in NCHW')
BN_SHAPES = ((8, 16, 16, 16), (8, 16, 8, 8), (8, 32, 8, 8), (8, 8, 32, 32))  # DARTS C=8 cells at 16 and 8 px


class _BatchNormLayouts(torch.autograd.Function):
    """Training-mode batch norm whose forward and backward run in the given layouts (NHWC output).

    Running statistics are not updated: the gradients do not depend on them.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, eps, forward_layout, backward_layout):
        out, mean, invstd = torch.native_batch_norm(x.contiguous(memory_format=forward_layout), weight, bias,
                                                    None, None, True, 0.0, eps)
        ctx.save_for_backward(x, weight, mean, invstd)
        ctx.eps, ctx.layout = eps, backward_layout
        return out.contiguous(memory_format=NHWC)

    @staticmethod
    def backward(ctx, grad):
        x, weight, mean, invstd = ctx.saved_tensors
        grad_x, grad_w, grad_b = torch.ops.aten.native_batch_norm_backward(
            grad.contiguous(memory_format=ctx.layout), x.contiguous(memory_format=ctx.layout), weight, None, None,
            mean, invstd, True, ctx.eps, [True, weight is not None, weight is not None])
        return grad_x.contiguous(memory_format=NHWC), grad_w, grad_b, None, None, None


# ------------------------------------------------------------------ table 1: BatchNorm2d alone
def bn_errors(shape, shift, grad_offset, generator):
    """{(forward layout, backward layout): (|mean error| / std, max |output error|, input-grad error)} of
    float32 training-mode BN on an NHWC input; input-grad error is max|error| / max|truth|.

    ``shift`` is the input's mean (in stds); ``grad_offset`` a common part of the output gradient (as after
    global average pooling), whose cancellation in ``dy - mean(dy)`` magnifies the backward's sum errors.
    """
    x64 = torch.randn(shape, generator=generator, dtype=torch.float64) + shift
    noise = torch.randn(shape, generator=generator, dtype=torch.float64)
    dy64 = grad_offset + (0.01 if grad_offset else 1.0) * noise
    x = x64.clone().requires_grad_()
    out_t, mean_t, _ = torch.native_batch_norm(x, None, None, None, None, True, 0.0, 1e-5)
    grad_t, = torch.autograd.grad(out_t, x, dy64)
    std = x64.std(dim=(0, 2, 3))
    results = {}
    for forward_layout in (NCHW, NHWC):
        for backward_layout in (NCHW, NHWC):
            x = x64.float().contiguous(memory_format=NHWC).requires_grad_()
            out = _BatchNormLayouts.apply(x, None, None, 1e-5, forward_layout, backward_layout)
            grad, = torch.autograd.grad(out, x, dy64.float().contiguous(memory_format=NHWC))
            mean = torch.native_batch_norm(x.detach().contiguous(memory_format=forward_layout), None, None, None,
                                           None, True, 0.0, 1e-5)[1]
            results[forward_layout, backward_layout] = (
                ((mean.double() - mean_t) / std).abs().max().item(), (out.double() - out_t).abs().max().item(),
                ((grad.double() - grad_t).abs().max() / grad_t.abs().max()).item())
    return results


def nhwc_mean_is_float32_row_sum(shape, generator):
    """True when channels_last BN's batch mean equals a float32 sum of the (N*H*W, C) rows taken in order."""
    x = (torch.randn(shape, generator=generator) + 10).contiguous(memory_format=NHWC)
    _, mean, _ = torch.native_batch_norm(x, None, None, None, None, True, 0.0, 1e-5)
    rows = x.permute(0, 2, 3, 1).reshape(-1, shape[1])
    total = torch.zeros(shape[1])
    for row in rows:  # one float32 rounding per row, as the kernel's per-thread buffer
        total = total + row
    return torch.equal(mean, (total.double() / rows.shape[0]).float())


def conv1x1_weight_grad_error(channels, side, memory_format, generator, batch=8):
    """max|error| / max|truth| of a 1x1 conv's weight gradient (post-ReLU input, as in the cells)."""
    x64 = torch.randn(batch, channels, side, side, generator=generator, dtype=torch.float64).relu()
    w64 = torch.randn(channels, channels, 1, 1, generator=generator, dtype=torch.float64)
    dy64 = torch.randn(batch, channels, side, side, generator=generator, dtype=torch.float64)
    grads = []
    for dtype, layout in ((torch.float64, NCHW), (torch.float32, memory_format)):
        w = w64.to(dtype).contiguous(memory_format=layout).requires_grad_()
        y = F.conv2d(x64.to(dtype).contiguous(memory_format=layout), w)
        grads.append(torch.autograd.grad(y, w, dy64.to(dtype).contiguous(memory_format=layout))[0].double())
    return ((grads[1] - grads[0]).abs().max() / grads[0].abs().max()).item()


def print_op_tables():
    generator = torch.Generator().manual_seed(0)
    print('| BN input (N, C, H, W) | input mean (stds) | output-grad offset | layout | mean error / std |'
          ' output error | input-grad error |')
    print('|---|---|---|---|---|---|---|')
    for shape in BN_SHAPES:
        for shift, offset in ((0.0, 0.0), (3.0, 0.0), (0.0, 1.0)):
            errors = bn_errors(shape, shift, offset, generator)
            for name, layout in (('NCHW', NCHW), ('NHWC', NHWC)):
                mean_err, out_err, grad_err = errors[layout, layout]
                print(f'| {shape} | {shift:g} | {offset:g} | {name} | {mean_err:.1e} | {out_err:.1e} | {grad_err:.1e} |')
    print('\nWhich half loses it: input-grad error of BN at (8, 8, 32, 32), forward / backward in the given layouts')
    print('\n| input mean, output-grad offset | NCHW / NCHW | NHWC / NHWC | NCHW / NHWC | NHWC / NCHW |')
    print('|---|---|---|---|---|')
    for shift, offset in ((3.0, 0.0), (0.0, 1.0), (3.0, 1.0)):
        errors = bn_errors((8, 8, 32, 32), shift, offset, generator)
        cells = ' | '.join(f'{errors[f, b][2]:.1e}' for f, b in ((NCHW, NCHW), (NHWC, NHWC), (NCHW, NHWC), (NHWC, NCHW)))
        print(f'| {shift:g}, {offset:g} | {cells} |')
    same = nhwc_mean_is_float32_row_sum((8, 16, 16, 16), generator)
    print(f'\nNHWC batch mean == float32 row-by-row sum / N, bit for bit: {same}\n')
    print('| 1x1 conv, batch 8 | NCHW weight-grad error | NHWC weight-grad error |\n|---|---|---|')
    for channels, side in ((2, 32), (2, 16), (8, 32), (8, 16), (16, 16), (16, 8)):
        nchw, nhwc = (conv1x1_weight_grad_error(channels, side, layout, generator) for layout in (NCHW, NHWC))
        print(f'| {channels} -> {channels} channels, {side}x{side} | {nchw:.1e} | {nhwc:.1e} |')
    print()


# ------------------------------------------------------------------ table 2: whole supernets
def _darts(cl, **options):
    return DartsSearchNetwork(channels=8, num_classes=10, layers=3, channels_last=cl, **options)


def _darts_batch(generator):
    return torch.randn(8, 3, 32, 32, generator=generator), torch.randint(0, 10, (8,), generator=generator)


def _imdn(cl):
    return IMDNSupernet(upscale=2, num_feat=16, num_blocks=1, partial_k=2, channels_last=cl)


def _imdn_batch(generator):
    return torch.rand(4, 3, 16, 16, generator=generator), torch.rand(4, 3, 32, 32, generator=generator)


NETWORKS = {  # name: (builder(channels_last), batch(generator), loss)
    'DARTS C=8, 3 cells, batch 8': (_darts, _darts_batch, F.cross_entropy),
    'PC-DARTS K=4, edge norm.': (lambda cl: _darts(cl, partial_k=4, edge_normalization=True), _darts_batch,
                                 F.cross_entropy),
    'IMDN x2, 16 feat., 1 block, K=2': (_imdn, _imdn_batch, F.l1_loss),
}
_KINKED = (nn.ReLU, nn.LeakyReLU, nn.MaxPool2d)


def _plain_graph(model):
    for module in model.modules():
        if isinstance(module, MixedOp):
            module.lean_autograd = False
    return model


def _record_kink_inputs(model):
    """Float64 run: the input of every ReLU / LeakyReLU / MaxPool2d call, per module, in call order."""
    seen = {}
    for name, module in model.named_modules():
        if isinstance(module, _KINKED):
            module.register_forward_hook(
                lambda mod, inputs, out, name=name: seen.setdefault(name, []).append(inputs[0].detach()))
    return seen


def _pool_indices(pool, x):
    return F.max_pool2d_with_indices(x, pool.kernel_size, pool.stride, pool.padding, pool.dilation,
                                     pool.ceil_mode)[1]


def _watch_kinks(model, truth_inputs, pin, flips):
    """Collect float32 decisions that differ from float64's; with ``pin``, take float64's instead.

    ``flips`` gets (float64 input tensor, flat element) pairs: a flipped element of an input shared by
    several candidates (one relu(x) per candidate in the plain graph) counts once.
    """
    for name, module in model.named_modules():
        if not isinstance(module, _KINKED):
            continue
        calls = iter(truth_inputs[name])

        def forward(x, module=module, calls=calls, plain=module.forward):
            x64 = next(calls)
            if isinstance(module, nn.MaxPool2d):  # a window whose argmax differs: its input's argmax element
                idx64 = _pool_indices(module, x64)
                differs = _pool_indices(module, x.detach()) != idx64
                plane = x64.shape[2] * x64.shape[3]
                planes = torch.arange(idx64.numel() // idx64[0, 0].numel()).view(*idx64.shape[:2], 1, 1)
                flipped = (idx64 + planes * plane)[differs]
            else:
                positive = x64 > 0
                flipped = ((x.detach() > 0) != positive).flatten().nonzero().flatten()
            flips.update((x64.data_ptr(), int(i)) for i in flipped)
            if not pin:
                return plain(x)
            if isinstance(module, nn.MaxPool2d):
                layout = NHWC if x.is_contiguous(memory_format=NHWC) and not x.is_contiguous() else NCHW
                return x.flatten(2).gather(2, idx64.flatten(2)).view(idx64.shape).contiguous(memory_format=layout)
            slope = module.negative_slope if isinstance(module, nn.LeakyReLU) else 0.0
            return torch.where(positive, x, x * slope)
        module.forward = forward


def _in_nchw(module):
    """Run ``module`` on an NCHW copy of its input, its weight NCHW too; the output goes back to NHWC."""
    if getattr(module, 'weight', None) is not None:  # a 1x1 weight is both layouts: clone sets plain strides
        module.weight.data = module.weight.data.clone(memory_format=NCHW)

    def forward(x, plain=module.forward):
        return plain(x.contiguous()).contiguous(memory_format=NHWC)
    module.forward = forward


def _batch_norm_layouts(module, forward_layout, backward_layout):
    def forward(x):
        return _BatchNormLayouts.apply(x, module.weight, module.bias, module.eps, forward_layout, backward_layout)
    module.forward = forward


def apply_variant(model, variant):
    """Move the ops that ``variant`` names to NCHW in an NHWC model (no-op for 'NCHW' and 'NHWC')."""
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            if variant in ('NHWC, BN in NCHW', 'NHWC, BN + 1x1 convs in NCHW'):
                _in_nchw(module)
            elif variant == 'NHWC, BN forward in NCHW':
                _batch_norm_layouts(module, NCHW, NHWC)
            elif variant == 'NHWC, BN backward in NCHW':
                _batch_norm_layouts(module, NHWC, NCHW)
        elif (isinstance(module, nn.Conv2d) and module.kernel_size == (1, 1) and module.groups == 1
              and variant == 'NHWC, BN + 1x1 convs in NCHW'):
            _in_nchw(module)


def _gradients(model, batch, loss_fn):
    x, target = batch
    loss = loss_fn(model(x), target)
    return dict(zip([n for n, _ in model.named_parameters()], torch.autograd.grad(loss, list(model.parameters()))))


def gradient_errors(builder, make_batch, loss_fn, seed):
    """{(variant, pinned): (worst error, flips, worst |g| on exactly-zero gradients / scale)} for one seed."""
    torch.manual_seed(seed)
    base = builder(False)
    state = base.state_dict()
    batch = make_batch(torch.Generator().manual_seed(1))
    truth_model = _plain_graph(builder(False).double())
    truth_model.load_state_dict(state)
    kink_inputs = _record_kink_inputs(truth_model)
    truth = _gradients(truth_model, tuple(t.double() if t.is_floating_point() else t for t in batch), loss_fn)
    scale = max(t.abs().max().item() for t in truth.values())
    results = {}
    for variant in VARIANTS:
        for pin in (False, True):
            model = _plain_graph(builder(variant != 'NCHW'))
            model.load_state_dict(state)
            apply_variant(model, variant)
            flips = set()
            _watch_kinks(model, kink_inputs, pin, flips)
            grads = _gradients(model, batch, loss_fn)
            worst = zero_grad = 0.0
            for name, t in truth.items():
                err = (grads[name].double() - t).abs().max().item()
                if t.abs().max().item() < 1e-10 * scale:  # exactly 0 in theory: float64 leaves ~1e-17
                    zero_grad = max(zero_grad, err / scale)
                else:
                    worst = max(worst, err / (t.abs().max().item() + 1e-6 * scale))
            results[variant, pin] = (worst, len(flips), zero_grad)
    return results


def print_gradient_table(seeds):
    print(f'| supernet | variant | worst error, median (max) of {seeds} seeds | flips, total |'
          ' pinned worst error, median (max) | zero-gradient params, max |g| / scale |')
    print('|---|---|---|---|---|---|')
    for net, (builder, make_batch, loss_fn) in NETWORKS.items():
        per_seed = [gradient_errors(builder, make_batch, loss_fn, seed) for seed in range(seeds)]
        for variant in VARIANTS:
            free = [r[variant, False] for r in per_seed]
            pinned = [r[variant, True] for r in per_seed]
            worst, pin_worst = [f[0] for f in free], [p[0] for p in pinned]
            print(f'| {net} | {variant} | {statistics.median(worst):.1e} ({max(worst):.1e}) | '
                  f'{sum(f[1] for f in free)} | {statistics.median(pin_worst):.1e} ({max(pin_worst):.1e}) | '
                  f'{max(f[2] for f in free):.1e} |', flush=True)


# ------------------------------------------------------------------ table 3: time
def forward_backward_seconds(variant, batch):
    model = DartsSearchNetwork(channels=16, num_classes=10, layers=8, channels_last=variant != 'NCHW')
    apply_variant(_plain_graph(model), variant)
    x, target = batch
    F.cross_entropy(model(x), target).backward()  # warm-up
    start = time.process_time()
    F.cross_entropy(model(x), target).backward()
    return time.process_time() - start


def print_time_table(rounds):
    generator = torch.Generator().manual_seed(1)
    batch = torch.randn(16, 3, 32, 32, generator=generator), torch.randint(0, 10, (16,), generator=generator)
    times = {variant: [] for variant in TIMED_VARIANTS}
    for r in range(rounds):
        for variant in (TIMED_VARIANTS if r % 2 == 0 else TIMED_VARIANTS[::-1]):
            times[variant].append(forward_backward_seconds(variant, batch))
    print(f'\n| DARTS C=16, 8 cells, batch 16, forward + backward (plain graph) | CPU s, median of {rounds} | / NHWC |')
    print('|---|---|---|')
    nhwc = statistics.median(times['NHWC'])
    for variant in TIMED_VARIANTS:
        t = statistics.median(times[variant])
        print(f'| {variant} | {t:.2f} | {t / nhwc:.2f}x |')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seeds', type=int, default=6, help='model initialisations per supernet (0: no supernet table)')
    parser.add_argument('--time-rounds', type=int, default=3, help='interleaved timing rounds (0: no timing)')
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print_op_tables()
    if args.seeds:
        print_gradient_table(args.seeds)
    if args.time_rounds:
        print_time_table(args.time_rounds)


if __name__ == '__main__':
    main()
