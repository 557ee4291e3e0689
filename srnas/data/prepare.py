"""SR data preparation: benchmark GTmod/LRbicx folders, DIV2K sub-images, meta-info files, LMDB.

Follows BasicSR's scripts (``generate_bicubic_img.m``, ``extract_subimages.py``,
``generate_meta_info.py``, ``create_lmdb.py``), which the PyPI wheel does not ship.
"""
import itertools
import math
import re
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from srnas.data.bicubic import bicubic_downscale, modcrop
from srnas.nas.files import atomic_write_text, remove_interrupted_writes
from srnas.utils.errors import InputError
from srnas.utils.image_io import list_images, read_image, write_image


def prepare_benchmark(hr_dir, out_dir, scales=(2, 3, 4), mod=None):
    """Write ``out_dir/GTmod{s}`` (HR mod-cropped) and ``out_dir/LRbicx{s}`` (MATLAB bicubic) per scale.

    ``mod``: crop every GT to this multiple instead of ``s`` (e.g. 12, BasicSR's ``GTmod12``); the
    folder is then named ``GTmod{mod}`` and shared by all scales (``mod`` must be a multiple of each).
    Returns {scale: (gt_dir, lq_dir)}.
    """
    out_dir = Path(out_dir)
    images = list_images(hr_dir)
    if mod is not None:
        bad = [s for s in scales if mod % s]
        if bad:
            raise InputError(f'--mod {mod} is not a multiple of scale(s) {bad}')
    folders = {}
    for scale in scales:
        crop = mod or scale
        gt_dir, lq_dir = out_dir / f'GTmod{crop}', out_dir / f'LRbicx{scale}'
        for path in images:
            hr = modcrop(read_image(path), crop)
            write_image(gt_dir / f'{path.stem}.png', hr)
            write_image(lq_dir / f'{path.stem}.png', bicubic_downscale(hr, scale))
        folders[scale] = (gt_dir, lq_dir)
    return folders


def crop_positions(length, crop_size, step, thresh_size=0):
    """Top/left offsets of sub-images along one axis; the last one hugs the border (BasicSR's rule)."""
    if length < crop_size:
        return []
    positions = list(range(0, length - crop_size + 1, step))
    if length - (positions[-1] + crop_size) > thresh_size:
        positions.append(length - crop_size)
    return positions


_SCALE_SUFFIX = re.compile(r'x(2|3|4|8)$')


def _find_lr(lr_dir, stem, scale):
    for ext in ('.png', '.bmp', '.jpg'):
        for name in (f'{stem}x{scale}{ext}', f'{stem}{ext}'):
            if (lr_dir / name).is_file():
                return lr_dir / name
    return None


def _sub_images_of_one(task):
    """Worker: crop one HR image (and its LR per scale) into aligned sub-images; returns meta lines."""
    hr_path, out_dir, scales, crop_size, step, lr_dirs, hr_folder_name, lr_folder_tmpl = task
    stem = _SCALE_SUFFIX.sub('', hr_path.stem)
    hr = read_image(hr_path)
    lcm = math.lcm(*scales)
    hr = modcrop(hr, lcm)
    height, width = hr.shape[:2]
    meta = []
    # Offsets on the HR grid that are multiples of every scale keep HR and LR crops aligned.
    tops = [p - p % lcm for p in crop_positions(height, crop_size, step)]
    lefts = [p - p % lcm for p in crop_positions(width, crop_size, step)]
    lrs = {}
    for scale in scales:
        lr_file = _find_lr(Path(lr_dirs[scale]), stem, scale) if lr_dirs.get(scale) else None
        lr = read_image(lr_file) if lr_file else bicubic_downscale(hr, scale)
        if lr.shape[0] < height // scale or lr.shape[1] < width // scale:
            raise InputError(f'LR image {lr_file} is smaller than HR {hr_path} / {scale}')
        lrs[scale] = lr
    for index, (top, left) in enumerate(itertools.product(tops, lefts), start=1):
        name = f'{stem}_s{index:03d}.png'
        write_image(out_dir / hr_folder_name / name, hr[top:top + crop_size, left:left + crop_size])
        meta.append(f'{name} ({crop_size},{crop_size},3)')
        for scale, lr in lrs.items():
            size, y, x = crop_size // scale, top // scale, left // scale
            write_image(out_dir / lr_folder_tmpl.format(scale=scale) / name, lr[y:y + size, x:x + size])
    return meta


def prepare_subimages(hr_dir, out_dir, scales=(2, 3, 4), crop_size=480, step=240, lr_dirs=None,
                      name='DIV2K_train_HR_sub', lr_name='DIV2K_train_LR_bicubic/X{scale}_sub', workers=1):
    """Crop every HR image in ``hr_dir`` into ``crop_size`` sub-images (``step`` apart) plus aligned LR crops.

    Writes ``out_dir/<name>/0001_s001.png``, ``out_dir/<lr_name>/0001_s001.png`` (LR taken
    from ``lr_dirs[s]`` such as ``DIV2K_train_LR_bicubic/X2`` when given, else made by MATLAB bicubic)
    and the meta-info file ``out_dir/meta_info_<name>.txt`` (``0001_s001.png (480,480,3)``).
    Returns the meta-info path.
    """
    out_dir = Path(out_dir)
    lr_dirs = {int(k): v for k, v in (lr_dirs or {}).items()}
    for scale in scales:
        if crop_size % scale or step % scale:
            raise InputError(f'--crop {crop_size} and --step {step} must be multiples of scale {scale}')
    images = list_images(hr_dir)
    for folder in ['', name] + [lr_name.format(scale=scale) for scale in scales]:
        remove_interrupted_writes(out_dir / folder)  # a previous run killed mid-write: rewritten below
    tasks = [(p, out_dir, tuple(scales), crop_size, step, lr_dirs, name, lr_name) for p in images]
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            metas = list(pool.map(_sub_images_of_one, tasks))
    else:
        metas = [_sub_images_of_one(t) for t in tasks]
    meta_path = out_dir / f'meta_info_{name}.txt'
    return atomic_write_text(meta_path, ''.join(line + '\n' for meta in metas for line in meta))


def make_lmdb(image_dir, lmdb_path, compress_level=1):
    """Pack every image of ``image_dir`` into ``lmdb_path`` (BasicSR's layout, keys = file stems)."""
    from srnas.basicsr_compat import import_basicsr
    import_basicsr()
    from basicsr.utils.lmdb_util import make_lmdb_from_imgs
    lmdb_path = Path(lmdb_path)
    if lmdb_path.suffix != '.lmdb':
        raise InputError(f'LMDB path must end with .lmdb: {lmdb_path}')
    if lmdb_path.exists():
        raise InputError(f'LMDB already exists: {lmdb_path} (remove it to rebuild)')
    images = list_images(image_dir)
    make_lmdb_from_imgs(str(image_dir), str(lmdb_path), [p.name for p in images], [p.stem for p in images],
                        compress_level=compress_level)
    return lmdb_path
