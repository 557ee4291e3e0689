"""Check a paired image folder the way BasicSR's PairedImageDataset will read it, but with clear errors."""
import os
from pathlib import Path

import cv2
from PIL import Image

from srnas.utils.errors import InputError


def _basicsr_file_list(folder):
    """Files BasicSR's ``scandir`` yields for a folder (non-recursive, hidden files skipped)."""
    return sorted(entry.name for entry in os.scandir(folder) if entry.is_file() and not entry.name.startswith('.'))


def _image_size(path, full_decode, context):
    """(width, height) of an image, reading it fully or only its header; InputError if unreadable."""
    if full_decode:
        img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if img is None:
            raise InputError(f'{context}: cannot read image file {path} (corrupt or not an image)')
        return img.shape[1], img.shape[0]
    try:
        with Image.open(path) as img:
            return img.size
    except Exception:  # PIL raises several types for unreadable files
        raise InputError(f'{context}: cannot read image file {path} (corrupt or not an image)') from None


def paired_file_names(dataset_opt):
    """[(gt_name, lq_name)] as BasicSR pairs them: from meta_info_file if given, else from the GT folder."""
    tmpl = dataset_opt.get('filename_tmpl', '{}')
    if dataset_opt.get('meta_info_file'):
        with open(Path(dataset_opt['meta_info_file']).expanduser()) as handle:
            gt_names = [line.split(' ')[0].strip() for line in handle if line.strip()]
    else:
        gt_names = _basicsr_file_list(Path(dataset_opt['dataroot_gt']).expanduser())
    return [(gt_name, f'{tmpl.format(stem)}{ext}') for gt_name in gt_names for stem, ext in [os.path.splitext(gt_name)]]


def check_paired_folder(dataset_opt, scale, prefix, source, exact=True, gt_size=None):
    """Raise InputError if a GT/LQ pair is missing, unreadable or not a x``scale`` pair.

    ``exact``: training needs GT == LQ x scale; validation crops GT, so it allows GT < (LQ+1) x scale.
    ``gt_size``: training patch size, which must fit inside every GT image and be divisible by scale.
    """
    gt_root = Path(dataset_opt['dataroot_gt']).expanduser()
    lq_root = Path(dataset_opt['dataroot_lq']).expanduser()
    pairs = paired_file_names(dataset_opt)
    if not pairs:
        raise InputError(f"{source}: option '{prefix}.dataroot_gt': no images in {gt_root}")
    if gt_size is not None and gt_size % scale:
        raise InputError(f"{source}: option '{prefix}.gt_size': {gt_size} is not divisible by scale {scale}")
    full_decode = len(pairs) <= 500  # decoding every image is affordable up to 500 files; beyond, headers only
    lq_names = set(_basicsr_file_list(lq_root))
    for gt_name, lq_name in pairs:
        gt_path, lq_path = gt_root / gt_name, lq_root / lq_name
        if lq_name not in lq_names:
            raise InputError(f"{source}: option '{prefix}.dataroot_lq': no LR image {lq_path} for GT {gt_path} "
                             f"(filename_tmpl {dataset_opt.get('filename_tmpl', '{}')!r})")
        if not gt_path.is_file():
            raise InputError(f"{source}: option '{prefix}.meta_info_file': lists {gt_name}, "
                             f'but {gt_path} does not exist')
        gw, gh = _image_size(gt_path, full_decode, f"{source}: option '{prefix}.dataroot_gt'")
        lw, lh = _image_size(lq_path, full_decode, f"{source}: option '{prefix}.dataroot_lq'")
        if exact:
            fits = (gw, gh) == (lw * scale, lh * scale)
        else:
            fits = lw * scale <= gw < (lw + 1) * scale and lh * scale <= gh < (lh + 1) * scale
        if not fits:
            raise InputError(f'{source}: {prefix}: LR {lq_path} is {lw}x{lh} but GT {gt_path} is {gw}x{gh}, '
                             f'which is not x{scale} (scale: {scale})')
        if gt_size is not None and min(gw, gh) < gt_size:
            raise InputError(f"{source}: option '{prefix}.gt_size': {gt_size} is larger than GT {gt_path} "
                             f'({gw}x{gh})')


def check_single_folder(dataset_opt, prefix, source):
    """Raise InputError if an LQ-only folder (SingleImageDataset) is empty or holds an unreadable file."""
    lq_root = Path(dataset_opt['dataroot_lq']).expanduser()
    names = _basicsr_file_list(lq_root)
    if not names:
        raise InputError(f"{source}: option '{prefix}.dataroot_lq': no images in {lq_root}")
    for name in names:
        _image_size(lq_root / name, len(names) <= 500, f"{source}: option '{prefix}.dataroot_lq'")
