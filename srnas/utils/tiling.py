"""Tiled inference for images too large to super-resolve in one pass."""
import torch
from torch import nn

from srnas.utils.errors import InputError

_GLOBAL_POOLS = (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)


def whole_image_layers(model):
    """Names of the layers whose output at one pixel depends on the whole input.

    Global pooling (IMDN's contrast channel attention) sees only its own tile when tiled, and a
    module flagged ``pools_whole_input`` (DLSR's ESA, whose pooled map is resized to the input's
    size) does too; no padding makes such a network's tiles match its whole-image output.
    """
    return [name or type(module).__name__ for name, module in model.named_modules()
            if (isinstance(module, _GLOBAL_POOLS) and _pools_to_one(module.output_size))
            or getattr(module, 'pools_whole_input', False)]


def _pools_to_one(output_size):
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,)
    return all(s == 1 for s in sizes)


def check_tileable(model, allow_seams=False):
    """Refuse tiling for a network with whole-image layers unless the caller accepts the difference."""
    layers = whole_image_layers(model)
    if layers and not allow_seams:
        shown = ', '.join(layers[:3]) + (f' and {len(layers) - 3} more' if len(layers) > 3 else '')
        raise InputError(f'--tile: {type(model).__name__} has layers that pool over the whole image ({shown}), '
                         'so tiled output differs from whole-image output (tens of grey levels for IMDN); '
                         'run without --tile, or add --allow_tile_seams to accept the difference')


def tiled_forward(model, x, scale, tile, tile_pad=10, allow_seams=False):
    """Run ``model`` on ``tile`` x ``tile`` LR tiles with ``tile_pad`` context, stitch the x``scale`` outputs.

    Each tile is cut with up to ``tile_pad`` extra pixels on every side (clipped at the border);
    only the centre part of each output tile is kept, so seams vanish when ``tile_pad`` covers the
    model's receptive field. Networks with whole-image layers are refused unless ``allow_seams``.
    """
    if tile <= 0:
        raise ValueError('tile must be a positive number of LR pixels')
    check_tileable(model, allow_seams)
    batch, _, height, width = x.shape
    out = None
    for top in range(0, height, tile):
        for left in range(0, width, tile):
            bottom, right = min(top + tile, height), min(left + tile, width)
            pad_top, pad_left = max(top - tile_pad, 0), max(left - tile_pad, 0)
            pad_bottom, pad_right = min(bottom + tile_pad, height), min(right + tile_pad, width)
            with torch.no_grad():
                y = model(x[:, :, pad_top:pad_bottom, pad_left:pad_right])
            if out is None:
                out = x.new_zeros(batch, y.shape[1], height * scale, width * scale)
            oy, ox = (top - pad_top) * scale, (left - pad_left) * scale
            out[:, :, top * scale:bottom * scale, left * scale:right * scale] = \
                y[:, :, oy:oy + (bottom - top) * scale, ox:ox + (right - left) * scale]
    return out
