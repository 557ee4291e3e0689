"""DLSR search space (Huang et al. 2021) as the reference code builds it.

48 channels; stem 3x3; 6 cells, each = 3 mixed residual blocks with 1x1
distillation branches, a 3x3 branch, 1x1 fusion and ESA; cells 3..6 read a
concat of earlier cell outputs (all of them, beta-weighted, in the supernet;
the chosen two in a child); 1x1 fusion of all 6 cells, 3x3 conv + global
residual, one-step pixel-shuffle upsampler for any scale.

The same modules serve child and supernet: a cell receives its three op
modules from ``make_op(position)``; with ``op_weights`` the ops are called
as mixed ops ``op(x, weights[position])``.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from srnas.ops.sr_ops import build_dlsr_op
from srnas.spaces.genotypes import DLSR_NUM_CELLS, DLSR_OPS_PER_CELL, load_genotype

LRELU_SLOPE = 0.05


def _lrelu(x):
    return F.leaky_relu(x, LRELU_SLOPE)


class ESA(nn.Module):
    """Enhanced spatial attention (RFDN), f = channels // 4. Needs H, W >= 15."""

    # The pooled map is resized back to the input's size: no tile padding reproduces whole-image output.
    pools_whole_input = True

    def __init__(self, channels):
        super().__init__()
        f = channels // 4
        self.conv1 = nn.Conv2d(channels, f, 1)
        self.conv_f = nn.Conv2d(f, f, 1)
        self.conv2 = nn.Conv2d(f, f, 3, stride=2, padding=0)
        self.conv_max = nn.Conv2d(f, f, 3, padding=1)
        self.conv3 = nn.Conv2d(f, f, 3, padding=1)
        self.conv3_ = nn.Conv2d(f, f, 3, padding=1)
        self.conv4 = nn.Conv2d(f, channels, 1)

    def forward(self, x):
        u = self.conv1(x)
        v = F.max_pool2d(self.conv2(u), kernel_size=7, stride=3)
        v = F.relu(self.conv_max(v))
        v = F.relu(self.conv3(v))
        v = self.conv3_(v)
        v = F.interpolate(v, size=x.shape[-2:], mode='bilinear', align_corners=False)
        mask = torch.sigmoid(self.conv4(v + self.conv_f(u)))
        return x * mask


class DLSRCell(nn.Module):
    """Mixed residual blocks + distillation + ESA (no cell-level residual, as in DLSR)."""

    def __init__(self, channels, make_op):
        super().__init__()
        d = channels // 2
        self.dist = nn.ModuleList(nn.Conv2d(channels, d, 1) for _ in range(DLSR_OPS_PER_CELL))
        self.ops = nn.ModuleList(make_op(j) for j in range(DLSR_OPS_PER_CELL))
        self.last = nn.Conv2d(channels, d, 3, padding=1)
        self.fuse = nn.Conv2d(d * (DLSR_OPS_PER_CELL + 1), channels, 1)
        self.esa = ESA(channels)

    def forward(self, x, op_weights=None):
        distilled = []
        for j, (dist, op) in enumerate(zip(self.dist, self.ops)):
            distilled.append(_lrelu(dist(x)))
            refined = op(x) if op_weights is None else op(x, op_weights[j])
            x = _lrelu(refined + x)
        distilled.append(_lrelu(self.last(x)))
        return self.esa(self.fuse(torch.cat(distilled, dim=1)))


class DLSRNetwork(nn.Module):
    """The DLSR skeleton. ``cell_inputs[i]`` lists the 1-based earlier cells read by cell i + 3.

    ``img_range``: the pixel range the weights were trained on, as in BasicSR's EDSR/SwinIR. Inputs and
    outputs are always in [0, 1]; the network multiplies its input by ``img_range`` and divides its
    output by it. The DLSR reference code trains on 0..255 (``rgb_range = 255``), so its checkpoint
    needs ``img_range: 255``; srnas's own search and training use 1.
    """

    def __init__(self, upscale, make_op, cell_inputs, num_feat=48, num_in_ch=3, num_out_ch=3, img_range=1.0):
        super().__init__()
        if len(cell_inputs) != DLSR_NUM_CELLS - 2:
            raise ValueError('cell_inputs must give the inputs of cells 3..6')
        if isinstance(img_range, bool) or not isinstance(img_range, (int, float)) or img_range <= 0:
            raise ValueError(f'img_range must be a positive number (1 or 255), got {img_range!r}')
        self.upscale = upscale
        self.img_range = float(img_range)
        self.cell_inputs = [list(inputs) for inputs in cell_inputs]
        self.stem = nn.Conv2d(num_in_ch, num_feat, 3, padding=1)
        self.cells = nn.ModuleList(DLSRCell(num_feat, make_op) for _ in range(DLSR_NUM_CELLS))
        self.input_fusions = nn.ModuleList(
            nn.Conv2d(len(inputs) * num_feat, num_feat, 1) for inputs in self.cell_inputs)
        self.cell_fusion = nn.Conv2d(DLSR_NUM_CELLS * num_feat, num_feat, 1)
        self.lr_conv = nn.Conv2d(num_feat, num_feat, 3, padding=1)
        self.upsampler = nn.Sequential(
            nn.Conv2d(num_feat, num_out_ch * upscale * upscale, 3, padding=1), nn.PixelShuffle(upscale))

    def forward(self, x, op_weights=None, input_weights=None):
        if self.img_range != 1.0:
            x = x * self.img_range
        stem = self.stem(x)
        outputs = [self.cells[0](stem, op_weights)]
        outputs.append(self.cells[1](outputs[0], op_weights))
        for i, (inputs, fusion) in enumerate(zip(self.cell_inputs, self.input_fusions)):
            feats = [outputs[k - 1] for k in inputs]
            if input_weights is not None:  # supernet: softmax(beta)-weighted inputs
                feats = [f * w for f, w in zip(feats, input_weights[i])]
            cell_in = _lrelu(fusion(torch.cat(feats, dim=1)))
            outputs.append(self.cells[i + 2](cell_in, op_weights))
        body = _lrelu(self.cell_fusion(torch.cat(outputs, dim=1)))
        out = self.upsampler(self.lr_conv(body) + stem)
        return out if self.img_range == 1.0 else out / self.img_range


class DLSRChild(DLSRNetwork):
    """A DLSR network built from a genotype (dict or JSON/YAML file)."""

    def __init__(self, genotype, upscale=2, num_feat=48, num_in_ch=3, num_out_ch=3, img_range=1.0):
        genotype = load_genotype(genotype, space='dlsr')
        ops = genotype['ops']
        super().__init__(upscale, lambda j: build_dlsr_op(ops[j], num_feat), genotype['connections'],
                         num_feat, num_in_ch, num_out_ch, img_range)
        self.genotype = genotype
