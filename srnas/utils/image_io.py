"""Reading and writing 8-bit images with clear errors; conversions to/from [0, 1] RGB tensors."""
from pathlib import Path

import cv2
import numpy as np
import torch

from srnas.nas.files import atomic_write
from srnas.utils.errors import InputError

IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp', '.ppm', '.pgm')


def list_images(folder):
    """Sorted image paths in ``folder``; raises InputError if it is missing or holds no image."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f'folder not found: {folder}')
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
    if not paths:
        raise InputError(f'no images ({", ".join(IMAGE_EXTENSIONS)}) in {folder}')
    return paths


def read_image(path):
    """uint8 BGR HxWx3 image (grey is expanded to 3 channels, alpha dropped)."""
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise InputError(f'cannot read image file {path} (missing, empty or not an image)')
    if img.dtype != np.uint8:
        raise InputError(f'image {path} is {img.dtype}; only 8-bit images are supported')
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    elif img.shape[2] == 4:
        img = img[:, :, :3]
    return img


def write_image(path, img):
    """Write a uint8 image atomically (temp file then rename)."""
    def write(tmp):  # the temporary name keeps the suffix, so cv2 picks the same format
        if not cv2.imwrite(str(tmp), img):
            raise InputError(f'cannot write image {path}')
    atomic_write(path, write)


def bgr_uint8_to_tensor(img):
    """uint8 BGR HWC -> float RGB 1x3xHxW in [0, 1]."""
    rgb = np.ascontiguousarray(img[:, :, ::-1]).astype(np.float32) / 255.0
    return torch.from_numpy(rgb.transpose(2, 0, 1)).unsqueeze(0)


def tensor_to_bgr_uint8(tensor):
    """1x3xHxW RGB in [0, 1] -> uint8 BGR HWC, clamped and rounded (BasicSR's tensor2img convention)."""
    arr = tensor.detach().squeeze(0).float().clamp_(0, 1).cpu().numpy().transpose(1, 2, 0)
    return np.ascontiguousarray((arr[:, :, ::-1] * 255.0).round().astype(np.uint8))
