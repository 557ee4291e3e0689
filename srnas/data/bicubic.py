"""MATLAB-compatible bicubic resizing and mod-cropping, the SR convention for making LR images."""
import numpy as np

from srnas.basicsr_compat import import_basicsr

import_basicsr()
from basicsr.utils.matlab_functions import imresize  # noqa: E402


def modcrop(img, scale):
    """Crop H and W down to multiples of ``scale`` (top-left anchored, as MATLAB's modcrop)."""
    height, width = img.shape[:2]
    return img[:height - height % scale, :width - width % scale, ...]


def matlab_resize_uint8(img, factor):
    """Resize a uint8 HxWxC image by ``factor`` with MATLAB's bicubic (antialiased when shrinking).

    MATLAB rounds uint8 outputs; BasicSR's ``imresize`` returns floats, so we clip and round.
    """
    out = imresize(img.astype(np.float64) / 255.0, factor)
    return np.clip(np.round(out * 255.0), 0, 255).astype(np.uint8)


def bicubic_downscale(hr, scale):
    """LR = MATLAB bicubic of the mod-cropped HR by 1/``scale``."""
    return matlab_resize_uint8(modcrop(hr, scale), 1.0 / scale)
