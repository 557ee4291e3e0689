"""Tiled inference for images too large to super-resolve in one pass."""
import torch


def tiled_forward(model, x, scale, tile, tile_pad=10):
    """Run ``model`` on ``tile`` x ``tile`` LR tiles with ``tile_pad`` context, stitch the x``scale`` outputs.

    Each tile is cut with up to ``tile_pad`` extra pixels on every side (clipped at the border);
    only the centre part of each output tile is kept, so seams vanish when ``tile_pad`` covers the
    model's receptive field.
    """
    if tile <= 0:
        raise ValueError('tile must be a positive number of LR pixels')
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
