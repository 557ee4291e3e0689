"""Params and Multi-Adds the lightweight-SR way: thop MACs for the LR input that gives a 1280x720 output."""
import copy
import math

import torch

HD_OUTPUT_SIZE = (720, 1280)  # (height, width) of the HR output the Multi-Adds are quoted for


def count_params(model, trainable_only=False):
    """Number of parameters (all of them unless ``trainable_only``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def lr_input_size(scale, output_size=HD_OUTPUT_SIZE):
    """LR (height, width) whose x``scale`` output covers ``output_size`` (x3: 240x427 for 720x1280)."""
    return tuple(math.ceil(side / scale) for side in output_size)


def multi_adds(model, scale, output_size=HD_OUTPUT_SIZE, num_in_ch=3, extra_inputs=()):
    """thop MACs (= Multi-Adds) of ``model`` for one LR image giving ``output_size`` at ``scale``.

    thop attaches ``total_ops``/``total_params`` buffers to every module it profiles,
    so it runs on a CPU deep copy in eval mode and ``model`` is left untouched.
    """
    from thop import profile

    probe = copy.deepcopy(model).cpu().eval()
    height, width = lr_input_size(scale, output_size)
    x = torch.zeros(1, num_in_ch, height, width)
    with torch.no_grad():
        macs, _ = profile(probe, inputs=(x, *extra_inputs), verbose=False)
    return float(macs)


def complexity_report(model, scale, output_size=HD_OUTPUT_SIZE, num_in_ch=3):
    """Dict with ``params``, ``multi_adds`` (MACs) and the ``lr_size`` used."""
    return {
        'params': count_params(model),
        'multi_adds': multi_adds(model, scale, output_size, num_in_ch),
        'lr_size': lr_input_size(scale, output_size),
        'output_size': tuple(output_size),
    }


def format_complexity(report):
    """One line such as ``Params: 694,404 | Multi-Adds: 158.85 G (LR 360x640 -> 720x1280)``."""
    lr_h, lr_w = report['lr_size']
    out_h, out_w = report['output_size']
    return (f"Params: {report['params']:,} | Multi-Adds: {report['multi_adds'] / 1e9:.2f} G "
            f'(LR {lr_h}x{lr_w} -> {out_h}x{out_w})')
