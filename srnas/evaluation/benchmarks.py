"""PSNR/SSIM of a model (or of bicubic upsampling) over benchmark folders, the SR-paper way.

Protocol: output clamped to [0, 1] and rounded to 8 bits, BasicSR's ``calculate_psnr`` /
``calculate_ssim`` on the Y channel (BT.601) with ``crop_border = scale``; averaged per set.
"""
from dataclasses import dataclass
from pathlib import Path

import torch

from srnas.basicsr_compat import import_basicsr
from srnas.utils.errors import InputError
from srnas.utils.image_io import bgr_uint8_to_tensor, list_images, read_image, tensor_to_bgr_uint8

import_basicsr()
from basicsr.metrics import calculate_psnr, calculate_ssim  # noqa: E402


@dataclass
class ImagePair:
    name: str
    gt_path: Path
    lq_path: Path


def locate_benchmark_folders(set_root, scale):
    """(gt_dir, lq_dir, filename_tmpl) of a set laid out as ``GTmod{s}/LRbicx{s}`` or ``HR/LR_bicubic/X{s}``."""
    set_root = Path(set_root)
    layouts = (
        (set_root / f'GTmod{scale}', set_root / f'LRbicx{scale}', '{}'),
        (set_root / 'HR', set_root / 'LR_bicubic' / f'X{scale}', '{}x' + str(scale)),
    )
    for gt_dir, lq_dir, tmpl in layouts:
        if gt_dir.is_dir() and lq_dir.is_dir():
            return gt_dir, lq_dir, tmpl
    raise InputError(f'{set_root}: expected GTmod{scale}/ + LRbicx{scale}/ or HR/ + LR_bicubic/X{scale}/ '
                     f"(run 'srnas prepare benchmark' to make them)")


def paired_images(gt_dir, lq_dir, filename_tmpl='{}'):
    """Pairs GT image ``<stem><ext>`` with LR ``filename_tmpl.format(stem)`` of any image extension."""
    lq_by_stem = {p.stem: p for p in list_images(lq_dir)}
    pairs = []
    for gt_path in list_images(gt_dir):
        lq_stem = filename_tmpl.format(gt_path.stem)
        if lq_stem not in lq_by_stem:
            raise InputError(f'no LR image {lq_stem}.* in {lq_dir} for GT {gt_path}')
        pairs.append(ImagePair(gt_path.stem, gt_path, lq_by_stem[lq_stem]))
    return pairs


def read_checked_pair(pair, scale):
    """(lq, gt) uint8 BGR; GT cropped to LR x scale; raises InputError if the sizes do not fit the scale."""
    lq, gt = read_image(pair.lq_path), read_image(pair.gt_path)
    (lh, lw), (gh, gw) = lq.shape[:2], gt.shape[:2]
    if not (lh * scale <= gh < (lh + 1) * scale and lw * scale <= gw < (lw + 1) * scale):
        raise InputError(f'LR {pair.lq_path} is {lw}x{lh} but GT {pair.gt_path} is {gw}x{gh}: '
                         f'not a x{scale} pair')
    return lq, gt[:lh * scale, :lw * scale]


def score(output_bgr, gt_bgr, scale):
    """(PSNR, SSIM) on Y with crop_border=scale, BasicSR's metrics."""
    psnr = calculate_psnr(output_bgr, gt_bgr, crop_border=scale, test_y_channel=True)
    ssim = calculate_ssim(output_bgr, gt_bgr, crop_border=scale, test_y_channel=True)
    return float(psnr), float(ssim)


def bicubic_upscale(lq, scale):
    """MATLAB-bicubic upsampling of an uint8 LR image (the 'Bicubic' row of SR tables)."""
    from srnas.data.bicubic import matlab_resize_uint8
    return matlab_resize_uint8(lq, scale)


@torch.no_grad()
def super_resolve(model, lq, device='cpu', tile=0, tile_pad=10, scale=None, allow_tile_seams=False):
    """uint8 BGR LR -> uint8 BGR SR with ``model`` (tiled when ``tile`` > 0)."""
    x = bgr_uint8_to_tensor(lq).to(device)
    if tile:
        from srnas.utils.tiling import tiled_forward
        y = tiled_forward(model, x, scale, tile, tile_pad, allow_seams=allow_tile_seams)
    else:
        y = model(x)
    return tensor_to_bgr_uint8(y)


def evaluate_pairs(pairs, scale, upscale_fn):
    """Mean PSNR/SSIM of ``upscale_fn(lq) -> sr`` over the pairs; also per-image values."""
    per_image = []
    for pair in pairs:
        lq, gt = read_checked_pair(pair, scale)
        sr = upscale_fn(lq)
        per_image.append((pair.name, *score(sr, gt, scale)))
    count = len(per_image)
    return {
        'psnr': sum(r[1] for r in per_image) / count,
        'ssim': sum(r[2] for r in per_image) / count,
        'count': count,
        'per_image': per_image,
    }


def evaluate_model(model, sets, scale, device='cpu', tile=0, tile_pad=10):
    """{set_name: metrics} of ``model`` over ``sets`` = {name: set_root | (gt_dir, lq_dir[, tmpl])}."""
    model = model.to(device).eval()
    return {name: evaluate_pairs(_pairs_of(spec, scale), scale,
                                 lambda lq: super_resolve(model, lq, device, tile, tile_pad, scale))
            for name, spec in sets.items()}


def evaluate_bicubic(sets, scale):
    """{set_name: metrics} of MATLAB-bicubic upsampling over the same sets."""
    return {name: evaluate_pairs(_pairs_of(spec, scale), scale, lambda lq: bicubic_upscale(lq, scale))
            for name, spec in sets.items()}


def _pairs_of(spec, scale):
    if isinstance(spec, (tuple, list)):
        return paired_images(*spec)
    return paired_images(*locate_benchmark_folders(spec, scale))


def format_metrics_table(results, title_column='Method'):
    """Markdown-style table. ``results`` = {row_label: {set_name: {'psnr', 'ssim'}}}."""
    set_names = list(dict.fromkeys(s for per_set in results.values() for s in per_set))  # first-seen order
    header = f'| {title_column} | ' + ' | '.join(f'{s} PSNR / SSIM' for s in set_names) + ' |'
    lines = [header, '|' + '---|' * (len(set_names) + 1)]
    for label, per_set in results.items():
        cells = [f"{per_set[s]['psnr']:.2f} / {per_set[s]['ssim']:.4f}" if s in per_set else '-' for s in set_names]
        lines.append(f'| {label} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)
