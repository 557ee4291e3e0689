"""IMDN (Hui et al., ACM MM 2019), faithful to the official ``Zheng222/IMDN`` layer order.

The four 3x3 convolutions c1..c4 of every information multi-distillation block
come from a *conv factory* so that the IMDN search space can swap them for
mixed ops or derived candidates. LeakyReLU(0.05) is applied by the block, outside
the factory's module, after c1, c2 and c3; c4 has no activation.

Official weights use other key names: :func:`convert_official_imdn_state_dict`
maps them onto :class:`IMDNNetwork` (``module.`` prefix stripped). The BasicSR
name of the network is ``SRNASIMDN`` (``srnas/archs/imdn_arch.py``); the IMDN
search space (``srnas.spaces.imdn``, ``imdn_supernet``) builds on this module.
"""
import re

import torch
from torch import nn

# Channel plan of the official IMDB at num_feat=64: distilled 16, remaining 48.
DISTILLATION_RATE = 0.25
LRELU_SLOPE = 0.05
CONV_POSITIONS = ('c1', 'c2', 'c3', 'c4')


def plain_conv_factory(position, in_channels, out_channels, block_index=None):
    """Default factory: the official 3x3 convolution with bias (``block_index`` is ignored)."""
    return nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=True)


def imdb_channel_plan(num_feat):
    """(in_channels, out_channels) of c1..c4 for a block of width ``num_feat``."""
    distilled = int(num_feat * DISTILLATION_RATE)
    remaining = num_feat - distilled
    return {
        'c1': (num_feat, num_feat),
        'c2': (remaining, num_feat),
        'c3': (remaining, num_feat),
        'c4': (remaining, distilled),
    }


class ContrastChannelAttention(nn.Module):
    """CCA: (population std + mean) per channel -> 1x1 squeeze -> ReLU -> 1x1 excite -> sigmoid gate."""

    def __init__(self, num_feat, reduction=16):
        super().__init__()
        hidden = max(num_feat // reduction, 1)  # the reference's num_feat // 16, kept >= 1 for narrow nets
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.squeeze = nn.Conv2d(num_feat, hidden, 1, bias=True)
        self.relu = nn.ReLU(inplace=True)
        self.excite = nn.Conv2d(hidden, num_feat, 1, bias=True)
        self.sigmoid = nn.Sigmoid()

    @staticmethod
    def contrast(x):
        """Per-channel standard deviation over H x W (biased, as in the reference)."""
        mean = x.mean(dim=(2, 3), keepdim=True)
        variance = (x - mean).pow(2).mean(dim=(2, 3), keepdim=True)
        return variance.sqrt()

    def forward(self, x):
        y = self.contrast(x) + self.avg_pool(x)
        y = self.sigmoid(self.excite(self.relu(self.squeeze(y))))
        return x * y


class IMDBlock(nn.Module):
    """Information multi-distillation block: c1..c4 with 16/48 splits, CCA, 1x1 fusion, residual."""

    def __init__(self, num_feat=64, conv_factory=None, block_index=None):
        super().__init__()
        factory = conv_factory or plain_conv_factory
        plan = imdb_channel_plan(num_feat)
        self.distilled = plan['c4'][1]
        self.remaining = num_feat - self.distilled
        for position in CONV_POSITIONS:
            in_ch, out_ch = plan[position]
            setattr(self, position, factory(position, in_ch, out_ch, block_index=block_index))
        self.act = nn.LeakyReLU(LRELU_SLOPE, inplace=True)
        self.cca = ContrastChannelAttention(self.distilled * 4)
        self.c5 = nn.Conv2d(self.distilled * 4, num_feat, 1, bias=True)

    def forward(self, x):
        split = (self.distilled, self.remaining)
        distilled_1, remaining = torch.split(self.act(self.c1(x)), split, dim=1)
        distilled_2, remaining = torch.split(self.act(self.c2(remaining)), split, dim=1)
        distilled_3, remaining = torch.split(self.act(self.c3(remaining)), split, dim=1)
        distilled_4 = self.c4(remaining)
        out = torch.cat([distilled_1, distilled_2, distilled_3, distilled_4], dim=1)
        return self.c5(self.cca(out)) + x


class PixelShuffleUpsampler(nn.Sequential):
    """One-step upsampler for every scale: 3x3 conv to ``out_ch * s^2`` then PixelShuffle(s)."""

    def __init__(self, num_feat, num_out_ch, upscale):
        super().__init__()
        self.add_module('conv', nn.Conv2d(num_feat, num_out_ch * upscale * upscale, 3, padding=1, bias=True))
        self.add_module('shuffle', nn.PixelShuffle(upscale))


class IMDNNetwork(nn.Module):
    """IMDN. Input and output in [0, 1], no mean shift, no output clamp (as the reference).

    Args:
        upscale: 2, 3 or 4 (any positive integer works).
        num_in_ch: input channels; ``num_out_ch`` defaults to the same.
        num_feat: width (64 in the paper).
        num_blocks: number of IMDBs (6 in the paper).
        conv_factory: optional callable ``(position, in_ch, out_ch, block_index=i) -> nn.Module``
            building c1..c4 of block ``i``; default the plain 3x3 conv.
    """

    def __init__(self, upscale, num_in_ch=3, num_feat=64, num_blocks=6, num_out_ch=None, conv_factory=None):
        super().__init__()
        num_out_ch = num_in_ch if num_out_ch is None else num_out_ch
        self.upscale = upscale
        self.head = nn.Conv2d(num_in_ch, num_feat, 3, padding=1, bias=True)
        self.blocks = nn.ModuleList(
            [IMDBlock(num_feat, conv_factory=conv_factory, block_index=i) for i in range(num_blocks)])
        self.fusion = nn.Sequential(
            nn.Conv2d(num_feat * num_blocks, num_feat, 1, bias=True), nn.LeakyReLU(LRELU_SLOPE, inplace=True))
        self.body_tail = nn.Conv2d(num_feat, num_feat, 3, padding=1, bias=True)
        self.upsampler = PixelShuffleUpsampler(num_feat, num_out_ch, upscale)

    def forward(self, x):
        shallow = self.head(x)
        outputs = []
        feat = shallow
        for block in self.blocks:
            feat = block(feat)
            outputs.append(feat)
        deep = self.body_tail(self.fusion(torch.cat(outputs, dim=1))) + shallow
        return self.upsampler(deep)


# Official name -> srnas name, applied after stripping ``module.``.
_OFFICIAL_KEY_RULES = (
    (re.compile(r'^fea_conv\.'), 'head.'),
    (re.compile(r'^IMDB(\d+)\.'), lambda m: f'blocks.{int(m.group(1)) - 1}.'),
    (re.compile(r'\.cca\.conv_du\.0\.'), '.cca.squeeze.'),
    (re.compile(r'\.cca\.conv_du\.2\.'), '.cca.excite.'),
    (re.compile(r'^c\.0\.'), 'fusion.0.'),
    (re.compile(r'^LR_conv\.'), 'body_tail.'),
    (re.compile(r'^upsampler\.0\.'), 'upsampler.conv.'),
)


def is_official_imdn_state_dict(state_dict):
    """True when the keys look like the official IMDN release (``IMDB1.``, ``fea_conv.``)."""
    keys = [k[len('module.'):] if k.startswith('module.') else k for k in state_dict]
    return any(k.startswith('fea_conv.') for k in keys) and any(k.startswith('IMDB1.') for k in keys)


def convert_official_imdn_state_dict(state_dict):
    """Rename the official IMDN keys (optionally ``module.``-prefixed) to :class:`IMDNNetwork` keys."""
    converted = {}
    for key, value in state_dict.items():
        new_key = key[len('module.'):] if key.startswith('module.') else key
        for pattern, replacement in _OFFICIAL_KEY_RULES:
            new_key = pattern.sub(replacement, new_key)
        converted[new_key] = value
    return converted
