"""Build a small paired SR data set from the real photos that scikit-image ships (no download).

Layout (BasicSR benchmark style), for each split ``train``, ``val``, ``test``::

    <root>/<split>/GTmod{s}/<photo>.png     HR, mod-cropped to a multiple of s
    <root>/<split>/LRbicx{s}/<photo>.png    MATLAB-bicubic x1/s of the HR

    <root>/train_sub/GT/<photo>_s001.png    120x120 HR sub-images of the train photos (step 60)
    <root>/train_sub/LRbicx{s}/...           their LR crops
    <root>/train_sub/meta_info_GT.txt

The splits use different photos, so ``test`` is held out from training and validation.
"""
import json
from pathlib import Path

import numpy as np

from srnas.data.bicubic import bicubic_downscale, modcrop
from srnas.nas.files import atomic_write_text
from srnas.utils.image_io import write_image

# scikit-image photos bundled with the package (no pooch download needed).
TRAIN_PHOTOS = ('astronaut', 'rocket', 'stereo_motorcycle', 'immunohistochemistry', 'hubble_deep_field')
VAL_PHOTOS = ('camera',)
TEST_PHOTOS = ('chelsea', 'coffee')
# Training reads small sub-images (cheap to decode) cut from the train photos, DIV2K-style.
SUB_IMAGE_SIZE, SUB_IMAGE_STEP = 120, 60
SPLITS = {'train': TRAIN_PHOTOS, 'val': VAL_PHOTOS, 'test': TEST_PHOTOS}


def load_photo(name):
    """uint8 RGB HxWx3 photo from ``skimage.data`` (grey photos become 3 equal channels)."""
    import skimage.data
    img = getattr(skimage.data, name)()
    if isinstance(img, tuple):  # stereo pairs: keep the left view
        img = img[0]
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    return np.ascontiguousarray(img[:, :, :3].astype(np.uint8))


def split_folders(root, split, scale):
    """(gt_dir, lq_dir) of one split (``train_sub`` = the training sub-images)."""
    base = Path(root) / split
    if split == 'train_sub':
        return base / 'GT', base / f'LRbicx{scale}'
    return base / f'GTmod{scale}', base / f'LRbicx{scale}'


def build_demo_data(root, scale=2, splits=None):
    """Write the demo set under ``root`` (skipped when a matching one exists); returns ``root`` as a Path."""
    root = Path(root)
    splits = splits or SPLITS
    recipe = {'scale': scale, 'splits': {k: list(v) for k, v in splits.items()}}
    marker = root / f'.srnas_demo_x{scale}.json'
    if marker.is_file() and json.loads(marker.read_text()) == recipe:
        return root
    for split, photos in splits.items():
        gt_dir, lq_dir = split_folders(root, split, scale)
        for name in photos:
            hr_bgr = load_photo(name)[:, :, ::-1]
            write_image(gt_dir / f'{name}.png', np.ascontiguousarray(modcrop(hr_bgr, scale)))
            write_image(lq_dir / f'{name}.png', bicubic_downscale(hr_bgr, scale))
    if 'train' in splits:
        from srnas.data.prepare import prepare_subimages
        prepare_subimages(split_folders(root, 'train', scale)[0], root / 'train_sub', (scale,), SUB_IMAGE_SIZE,
                          SUB_IMAGE_STEP, name='GT', lr_name='LRbicx{scale}')
    atomic_write_text(marker, json.dumps(recipe))
    return root
