"""Per-candidate Multi-Adds tables for the FLOPs regulariser (SA-DARTS Eq. 18).

Each entry is the conv multiply-accumulates of one candidate at its real
channel counts on the LR feature grid of an image whose x``scale`` output is
1280x720 (360x640 features at x2). Only ratios matter to Eq. 18 (it divides
by the sum), but the absolute numbers are real Multi-Adds so that
``table[row] @ one_hot`` adds up to the searched part of a child's cost.
"""
import torch

from srnas.evaluation.complexity import HD_OUTPUT_SIZE, lr_input_size
from srnas.ops.sr_ops import DLSR_CANDIDATES, IMDN_CANDIDATES, build_dlsr_op, build_imdn_op, conv_macs


def dlsr_cost_table(scale, num_feat=48, output_size=HD_OUTPUT_SIZE):
    """Tensor (3, 9): Multi-Adds of each DLSR candidate for the 3 op positions of a cell (same per row)."""
    h, w = lr_input_size(scale, output_size)
    row = [float(conv_macs(build_dlsr_op(name, num_feat), h, w)) for name in DLSR_CANDIDATES]
    return torch.tensor([row] * 3, dtype=torch.float64)


def imdn_cost_table(scale, num_feat=64, output_size=HD_OUTPUT_SIZE):
    """Tensor (4, 12): Multi-Adds of each IMDN candidate at c1 (64->64), c2/c3 (48->64), c4 (48->16)."""
    from srnas.spaces.imdn_network import CONV_POSITIONS, imdb_channel_plan

    h, w = lr_input_size(scale, output_size)
    plan = imdb_channel_plan(num_feat)
    rows = []
    for position in CONV_POSITIONS:
        cin, cout = plan[position]
        rows.append([float(conv_macs(build_imdn_op(name, cin, cout), h, w)) for name in IMDN_CANDIDATES])
    return torch.tensor(rows, dtype=torch.float64)


def network_conv_macs(model, scale, output_size=HD_OUTPUT_SIZE, num_in_ch=3):
    """Conv-only multiply-accumulates (no bias, BN or activations) of a whole network, by forward hooks.

    This is the "conv MACs" convention of the SA-DARTS IMDN figures
    (original IMDN x2: 158.77 G, thop's Multi-Adds 158.85 G).
    """
    total = [0]

    def hook(layer, inputs, output):
        kh, kw = layer.kernel_size
        total[0] += output.numel() * (layer.in_channels // layer.groups) * kh * kw

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, num_in_ch, *lr_input_size(scale, output_size)))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return float(total[0])
