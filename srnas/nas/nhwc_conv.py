"""Strided, dilated depthwise convolutions of channels_last activations with their backward run in NCHW.

The forward stays NHWC (fast there), but ATen's NHWC backward of a depthwise conv with stride > 1 and
dilation > 1 (DARTS's dil_conv on reduction edges) is slow: with the backward run here in NCHW
(the saved input and the incoming gradient converted, the input gradient handed back channels_last)
forward + backward take 1.8-3.1x less time at the PC-DARTS shapes, 8-16 channels
(benchmarks/conv_layout.py). The backward is the NCHW network's arithmetic: equal to rounding.
"""
import torch
import torch.nn as nn

from srnas.nas.layout import channels_last_on_cpu

_convolution_backward = torch.ops.aten.convolution_backward.default


def has_hooks(module: nn.Module) -> bool:
    """module has hooks, so it must be called whole for them to see it (no layer-wise replacement)."""
    return bool(module._forward_hooks or module._forward_pre_hooks or module._backward_hooks
                or getattr(module, '_backward_pre_hooks', None))


def has_slow_nhwc_backward(conv, x: torch.Tensor) -> bool:
    """conv is a plain depthwise Conv2d with stride and dilation > 1 and x is a channels_last CPU activation
    (ATen's CPU kernels were measured; no GPU)."""
    return (type(conv) is nn.Conv2d and conv.padding_mode == 'zeros' and not isinstance(conv.padding, str)
            and conv.groups == conv.in_channels == conv.out_channels and conv.groups > 1
            and max(conv.stride) > 1 and max(conv.dilation) > 1
            and not has_hooks(conv) and channels_last_on_cpu(x))


class _ConvWithNCHWBackward(torch.autograd.Function):

    @staticmethod
    def forward(ctx, x, weight, bias, conv):
        ctx.save_for_backward(x, weight)
        ctx.args = list(conv.stride), list(conv.padding), list(conv.dilation), conv.groups
        ctx.bias_shape = None if bias is None else list(bias.shape)
        return conv._conv_forward(x, weight, bias)

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        stride, padding, dilation, groups = ctx.args
        mask = [ctx.needs_input_grad[0], ctx.needs_input_grad[1], ctx.bias_shape is not None and ctx.needs_input_grad[2]]
        # A depthwise weight (C, 1, k, k) is contiguous in both layouts; ATen reads its strides to choose the
        # layout, so it gets fresh NCHW strides, not just .contiguous()
        grad_x, grad_w, grad_b = _convolution_backward(
            grad.contiguous(), x.contiguous(), weight.clone(memory_format=torch.contiguous_format), ctx.bias_shape,
            stride, padding, dilation, False, [0, 0], groups, mask)
        if grad_x is not None:
            grad_x = grad_x.contiguous(memory_format=torch.channels_last)
        return grad_x, grad_w, grad_b, None


def conv2d_with_nchw_backward(x: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
    """``conv(x)``, forward in x's layout, backward in NCHW (see the module docstring)."""
    return _ConvWithNCHWBackward.apply(x, conv.weight, conv.bias, conv)
