"""A MixedOp's weighted sum with fewer tensors kept for backward, and the same numbers.

What the plain autograd graph of ``sum_o w_o * o(x)`` keeps that it does not need:

* every candidate that starts with a ReLU (sep/dil convs, ReLUConvBN, FactorizedReduce) keeps its
  own copy of ``relu(x)``; here ``relu(x)`` is computed once and each candidate gets an alias of it
  (``_ReLUAliases``: one node for a run of such candidates in a row, each alias with its own ReLU
  backward), so the gradient of x is accumulated in the same order as before;
* every candidate that ends in an affine-free BatchNorm2d on batch statistics keeps its BN output
  for ``d/dw (w * o)``; here ``_WeightedSum`` (one node for the edge's whole weighted sum) keeps
  only the BN input and the batch statistics and recomputes the output in backward (one multiply-add).
* optionally, a max-pool candidate keeps its int64 argmax indices (twice a float activation); with
  ``recompute_pool_indices`` it keeps its input instead (kept by the other candidates anyway) and
  recomputes the indices in backward.

One layout choice changes numbers at float rounding only: with ``nchw_bn_below_channels`` an affine-free
BN on batch statistics of a channels_last activation with fewer channels runs on an NCHW copy (ATen's
NHWC batch norm vectorises over channels and is 1.3-3x slower than the copy at 2-6 channels, e.g. the
PC-DARTS K=4 candidates; benchmarks/bn_layout.py). Off (0) it is the plain graph bit for bit. So is
``nchw_conv_backward``: strided dilated depthwise convs of channels_last activations run their backward
in NCHW (srnas.nas.nhwc_conv).

Candidates expose their layers through ``layer_chain`` (below). One with hooks is called whole,
so its hooks see it; under ``torch.compile`` the plain graph is used (the compiler chooses what to
recompute itself).
"""
from typing import Callable, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from srnas.nas.layout import channels_last_on_cpu
from srnas.nas.nhwc_conv import conv2d_with_nchw_backward, has_hooks as _has_hooks, has_slow_nhwc_backward

# Resolved overloads: calling them skips the overload lookup of torch.ops.aten.<name> on every call.
_threshold_backward = torch.ops.aten.threshold_backward.default
_batch_norm_backward = torch.ops.aten.native_batch_norm_backward.default
_max_pool_with_indices = torch.ops.aten.max_pool2d_with_indices.default
_max_pool_backward = torch.ops.aten.max_pool2d_with_indices_backward.default


def layer_chain(op: nn.Module) -> Optional[Sequence[Callable]]:
    """The callables whose composition is ``op.forward``, or None when ``op`` is not such a chain.

    A plain ``nn.Sequential`` is its layers; another module opts in with a ``layer_chain()`` method.
    """
    if _has_hooks(op):
        return None
    if type(op) is nn.Sequential:  # a subclass may override forward
        return tuple(op)
    chain = getattr(op, 'layer_chain', None)
    return tuple(chain()) if callable(chain) else None


def _is_shareable_relu(layer) -> bool:
    return type(layer) is nn.ReLU and not layer.inplace and not _has_hooks(layer)


def _recomputable_bn(layer) -> bool:
    """An affine-free BatchNorm2d that normalises with the batch's statistics (training, or no running stats)."""
    return (type(layer) is nn.BatchNorm2d and not layer.affine and not _has_hooks(layer)
            and (layer.training or layer.running_mean is None))


class _ReLUAliases(torch.autograd.Function):
    """``relu(x)`` computed once elsewhere, handed to n candidates in a row: n aliases from one node, which
    routes each alias's gradient back to x through ReLU's backward.

    x comes in n times, so that each alias's ReLU gradient reaches x as its own term. Output i is for the
    i-th candidate from the end of the run: the engine adds the gradients for x in input order, and with one
    ReLU node per candidate (the plain graph) they arrived latest candidate first, nothing in between (the
    candidates' own nodes do not touch x), so x's gradient is summed in the same order.
    """

    @staticmethod
    def forward(ctx, relu_x, *xs):
        ctx.save_for_backward(relu_x)
        ctx.set_materialize_grads(False)
        return tuple(relu_x.view_as(relu_x) for _ in xs)

    @staticmethod
    def backward(ctx, *grads):
        (relu_x,) = ctx.saved_tensors
        # exactly what nn.ReLU's backward computes, once per alias
        return (None, *(None if grad is None else _threshold_backward(grad, relu_x, 0) for grad in grads))


def _relu_aliases(x: torch.Tensor, relu_x: torch.Tensor, count: int):
    """``count`` aliases of relu_x for a run of candidates, in the candidates' order (see _ReLUAliases)."""
    aliases = _ReLUAliases.apply(relu_x, *([x] * count))
    return list(aliases[::-1]) if isinstance(aliases, tuple) else [aliases]


def _batch_norm_with_stats(bn: nn.BatchNorm2d, y: torch.Tensor):
    """``bn(y)`` for an affine-free BN on batch statistics, plus the batch mean and inverse std.

    Follows nn.BatchNorm2d.forward: ``num_batches_tracked`` counted, momentum None = cumulative average,
    running buffers updated when the module tracks them.
    """
    momentum = 0.0 if bn.momentum is None else bn.momentum
    if bn.training and bn.track_running_stats and bn.num_batches_tracked is not None:
        bn.num_batches_tracked.add_(1)
        momentum = 1.0 / float(bn.num_batches_tracked) if bn.momentum is None else bn.momentum
    if bn.training:
        F._verify_batch_size(y.size())
    keep_running = not bn.training or bn.track_running_stats
    return torch.native_batch_norm(y, None, None, bn.running_mean if keep_running else None,
                                   bn.running_var if keep_running else None, True, momentum, bn.eps)


def few_channels_last(y: torch.Tensor, below_channels: int) -> bool:
    """y is a 4-d channels_last CPU activation (not also NCHW-contiguous) with fewer than ``below_channels`` channels.

    CPU only: the threshold is ATen's CPU kernels' (benchmarks/bn_layout.py); no GPU was measured.
    """
    return y.dim() == 4 and y.shape[1] < below_channels and channels_last_on_cpu(y)  # the cheap test first


class _BatchNormOnNCHWCopy(torch.autograd.Function):
    """``bn(y)`` for an affine-free BN on batch statistics of a channels_last y, computed on an NCHW copy.

    Keeps the NCHW copy and the batch statistics (what ATen's BN keeps: its input and the statistics), so
    it costs no memory; the output and y's gradient are channels_last again.
    """

    @staticmethod
    def forward(ctx, y, bn):
        y_nchw = y.contiguous()
        out, mean, invstd = _batch_norm_with_stats(bn, y_nchw)
        ctx.save_for_backward(y_nchw, mean, invstd)
        ctx.eps = bn.eps
        return out.contiguous(memory_format=torch.channels_last)

    @staticmethod
    def backward(ctx, grad):
        y_nchw, mean, invstd = ctx.saved_tensors
        grad_y = _batch_norm_backward(grad.contiguous(), y_nchw, None, None, None, mean, invstd, True, ctx.eps,
                                      [True, False, False])[0]
        return grad_y.contiguous(memory_format=torch.channels_last), None


def batch_norm_on_nchw_copy(y: torch.Tensor, bn: nn.BatchNorm2d) -> torch.Tensor:
    """``bn(y)`` (affine-free, batch statistics, running buffers updated) run on an NCHW copy of a channels_last y."""
    return _BatchNormOnNCHWCopy.apply(y, bn)


class _WeightedSum(torch.autograd.Function):
    """One edge's ``term_1 + term_2 + ...`` (summed in this order) as one autograd node, where a term is either a
    tensor computed outside (already weighted) or ``w * bn(y)``, for which y and w are kept (and two per-channel
    vectors), not ``bn(y)``.

    ``plan`` holds one entry per term: None for a tensor (one input), ``(bn, in_nchw)`` for a BN term (two
    inputs: y and w). Backward recomputes each BN output as ``y * invstd + (0 - mean * invstd)`` with one
    fused multiply-add (``addcmul``), the same arithmetic as ATen's CPU batch-norm kernel, so the values are
    the same bit for bit (checked against the plain graph in tests/nas/test_mixed_op_memory.py).
    ``in_nchw``: y is channels_last and the BN runs on an NCHW copy, which is kept instead of y.

    One node per edge, not one per BN term plus an ``add`` node per term: the host work of a step (Python
    calls into autograd, nodes the engine runs) is what a launch-bound GPU step waits for. Each input gets
    its gradient from this one node, and the engine then runs the candidates' own nodes in the order it ran
    them before (latest first), so every gradient is summed in the same order as in the plain graph.
    """

    @staticmethod
    def forward(ctx, plan, *inputs):
        out = None
        saved, eps = [], []
        position = 0
        for entry in plan:
            if entry is None:
                term = inputs[position]
                position += 1
            else:
                bn, in_nchw = entry
                y, w = inputs[position], inputs[position + 1]
                position += 2
                if in_nchw:
                    y = y.contiguous()
                bn_out, mean, invstd = _batch_norm_with_stats(bn, y)
                if in_nchw:
                    bn_out = bn_out.contiguous(memory_format=torch.channels_last)
                term = w * bn_out
                saved += [y, w, mean, invstd]
                eps.append(bn.eps)
            out = term if out is None else out + term
        ctx.save_for_backward(*saved)
        ctx.in_nchw = [entry[1] for entry in plan if entry is not None]
        ctx.plan = [entry is not None for entry in plan]
        ctx.eps = eps
        return out

    @staticmethod
    def backward(ctx, grad):
        saved = ctx.saved_tensors
        needs = ctx.needs_input_grad[1:]
        grads = []
        bn_index = 0
        for is_bn in ctx.plan:
            position = len(grads)
            if not is_bn:
                grads.append(grad if needs[position] else None)
                continue
            y, w, mean, invstd = saved[4 * bn_index:4 * bn_index + 4]
            in_nchw, eps = ctx.in_nchw[bn_index], ctx.eps[bn_index]
            bn_index += 1
            # y is the NCHW copy: compute there, hand y's gradient back channels_last
            term_grad = grad.contiguous() if in_nchw else grad
            grad_y = grad_w = None
            if needs[position]:
                grad_y = _batch_norm_backward(term_grad * w, y, None, None, None, mean, invstd, True, eps,
                                              [True, False, False])[0]
                if in_nchw:
                    grad_y = grad_y.contiguous(memory_format=torch.channels_last)
            if needs[position + 1]:
                per_channel = (1, -1) + (1,) * (y.dim() - 2)
                out = torch.addcmul((0.0 - mean * invstd).view(per_channel), y, invstd.view(per_channel))
                grad_w = (term_grad * out).sum_to_size(w.shape)
            grads += [grad_y, grad_w]
        return (None, *grads)


def _pool_args(pool: nn.MaxPool2d):
    pair = nn.modules.utils._pair
    stride = pool.stride if pool.stride is not None else pool.kernel_size
    return pair(pool.kernel_size), pair(stride), pair(pool.padding), pair(pool.dilation), pool.ceil_mode


class _MaxPool2dKeepingInput(torch.autograd.Function):
    """Max pooling that keeps its input, not the int64 argmax indices; backward recomputes the indices."""

    @staticmethod
    def forward(ctx, x, kernel, stride, padding, dilation, ceil_mode):
        out, _ = _max_pool_with_indices(x, kernel, stride, padding, dilation, ceil_mode)
        ctx.save_for_backward(x)
        ctx.args = kernel, stride, padding, dilation, ceil_mode
        return out

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        _, indices = _max_pool_with_indices(x, *ctx.args)
        grad_x = _max_pool_backward(grad, x, *ctx.args, indices)
        return grad_x, None, None, None, None, None


def max_pool2d_keeping_input(x: torch.Tensor, pool: nn.MaxPool2d) -> torch.Tensor:
    """``pool(x)`` whose backward keeps x instead of the indices (x is usually kept anyway)."""
    return _MaxPool2dKeepingInput.apply(x, *_pool_args(pool))


def _is_recomputable_max_pool(layer) -> bool:
    return type(layer) is nn.MaxPool2d and not layer.return_indices and not _has_hooks(layer)


def lean_weighted_sum(x: torch.Tensor, terms, recompute_pool_indices: bool = False,
                      nchw_bn_below_channels: int = 0, nchw_conv_backward: bool = False) -> Optional[torch.Tensor]:
    """``sum_o w_o * o(x)`` over ``terms`` = (weight, candidate) pairs, in order; None when there are none.

    ``recompute_pool_indices``: max-pool candidates keep their input instead of their argmax indices.
    ``nchw_bn_below_channels``: affine-free BNs on batch statistics of channels_last activations with fewer
    channels run on an NCHW copy (equal to rounding; 0 = never).
    ``nchw_conv_backward``: strided dilated depthwise convs of channels_last activations run their backward
    in NCHW (equal to rounding).
    """
    relu_x = None
    grad_on = torch.is_grad_enabled()

    def run(layer, h):
        if recompute_pool_indices and grad_on and _is_recomputable_max_pool(layer):
            return max_pool2d_keeping_input(h, layer)
        # float activations only: under autocast (bf16) the module's own mixed-dtype BN is used
        if (_recomputable_bn(layer) and h.dtype in (torch.float32, torch.float64)
                and few_channels_last(h, nchw_bn_below_channels)):
            return batch_norm_on_nchw_copy(h, layer)
        if nchw_conv_backward and grad_on and has_slow_nhwc_backward(layer, h):
            return conv2d_with_nchw_backward(h, layer)
        return layer(h)

    chains = [layer_chain(op) for _, op in terms]
    # candidates starting with a ReLU that can be shared; a run of them in a row gets its aliases from one node
    shares = [bool(chain) and _is_shareable_relu(chain[0]) for chain in chains]
    aliases = []  # the current run's aliases not handed out yet
    plan, inputs = [], []  # the terms of _WeightedSum, in the candidates' order
    for index, ((weight, op), chain) in enumerate(zip(terms, chains)):
        if chain is None:
            plan.append(None)
            inputs.append(weight * op(x))
            continue
        h = x
        if shares[index]:
            if relu_x is None:
                with torch.no_grad():
                    relu_x = torch.relu(x)
            if grad_on and not aliases:
                run_length = next((n for n, shared in enumerate(shares[index:]) if not shared), len(shares) - index)
                aliases = _relu_aliases(x, relu_x, run_length)
            h = aliases.pop(0) if grad_on else relu_x
            chain = chain[1:]
        if grad_on and chain and _recomputable_bn(chain[-1]):
            for layer in chain[:-1]:
                h = run(layer, h)
            # mixed dtypes (bf16 activations under autocast, fp32 weights): the plain graph casts
            # gradients between them, so it is used as is
            if h.dtype == weight.dtype:
                plan.append((chain[-1], few_channels_last(h, nchw_bn_below_channels)))
                inputs += [h, weight]
                continue
            chain = chain[-1:]
        for layer in chain:
            h = run(layer, h)
        plan.append(None)
        inputs.append(weight * h)
    if any(entry is not None for entry in plan):
        return _WeightedSum.apply(tuple(plan), *inputs)
    out = None
    for term in inputs:
        out = term if out is None else out + term
    return out
