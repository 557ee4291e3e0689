"""HFEN (high-frequency error norm) and DLSR's search loss L1 + 0.2 * HFEN, as BasicSR losses.

HFEN as the DLSR reference code computes it (``losses/l1_loss.py`` of DawnHH/DLSR-PyTorch):
a 5x5 Gaussian (sigma 1.5, no padding) on each colour channel, then the 4-neighbour
Laplacian [[0, 1, 0], [1, -4, 1], [0, 1, 0]] (zero padding 1) of the channel sum, each map
divided by its own maximum over the batch (when non-zero), and the mean absolute difference
of the two maps. The filters are kornia's (``filter2d`` with its Gaussian kernel).

``SRNASL1HFENLoss`` is ``loss_weight * (img_range * L1 + hfen_weight * HFEN)``: the reference
computes L1 on 0..255 pixels while HFEN is scale-free, so ``img_range: 255`` keeps its
``hfen_weight: 0.2`` meaning what it means there.
"""
import torch
from torch import nn

from srnas.basicsr_compat import import_basicsr

import_basicsr()
from basicsr.utils.registry import LOSS_REGISTRY  # noqa: E402

LAPLACIAN_4 = ((0.0, 1.0, 0.0), (1.0, -4.0, 1.0), (0.0, 1.0, 0.0))


def log_response(img, kernel_size=5, sigma=1.5):
    """Laplacian of the Gaussian-blurred channel sum, (B, 1, H - k + 1, W - k + 1), divided by its max."""
    from kornia.filters import filter2d, get_gaussian_kernel2d
    gaussian = get_gaussian_kernel2d((kernel_size, kernel_size), (sigma, sigma), device=img.device, dtype=img.dtype)
    blurred = filter2d(img, gaussian, padding='valid').sum(dim=1, keepdim=True)
    laplacian = torch.tensor(LAPLACIAN_4, device=img.device, dtype=img.dtype)[None]
    response = filter2d(blurred, laplacian, border_type='constant', padding='same')
    peak = response.max()
    return response / peak if peak != 0 else response


def hfen(output, target, kernel_size=5, sigma=1.5):
    """Mean absolute difference of the normalised LoG responses (DLSR's HFEN)."""
    if output.shape != target.shape:
        raise ValueError(f'hfen: output {tuple(output.shape)} and target {tuple(target.shape)} differ in shape')
    if min(output.shape[-2:]) < kernel_size:
        raise ValueError(f'hfen: images of {tuple(output.shape[-2:])} pixels are smaller than the {kernel_size}x'
                         f'{kernel_size} Gaussian')
    return (log_response(output, kernel_size, sigma) - log_response(target, kernel_size, sigma)).abs().mean()


@LOSS_REGISTRY.register()
class SRNASHFENLoss(nn.Module):
    """``loss_weight * HFEN(pred, target)``; ``weight`` and ``reduction`` are not supported (one scalar)."""

    def __init__(self, loss_weight=1.0, kernel_size=5, sigma=1.5):
        super().__init__()
        self.loss_weight, self.kernel_size, self.sigma = loss_weight, kernel_size, sigma

    def forward(self, pred, target, weight=None, **kwargs):
        if weight is not None:
            raise ValueError('SRNASHFENLoss does not take a pixel weight')
        return self.loss_weight * hfen(pred, target, self.kernel_size, self.sigma)


@LOSS_REGISTRY.register()
class SRNASL1HFENLoss(nn.Module):
    """DLSR's search/training loss: ``loss_weight * (img_range * L1 + hfen_weight * HFEN)``."""

    def __init__(self, loss_weight=1.0, hfen_weight=0.2, img_range=1.0, kernel_size=5, sigma=1.5):
        super().__init__()
        if img_range <= 0:
            raise ValueError(f'SRNASL1HFENLoss: img_range must be > 0, got {img_range}')
        self.loss_weight, self.hfen_weight, self.img_range = loss_weight, hfen_weight, img_range
        self.kernel_size, self.sigma = kernel_size, sigma

    def forward(self, pred, target, weight=None, **kwargs):
        if weight is not None:
            raise ValueError('SRNASL1HFENLoss does not take a pixel weight')
        l1 = (pred - target).abs().mean() * self.img_range
        return self.loss_weight * (l1 + self.hfen_weight * hfen(pred, target, self.kernel_size, self.sigma))
