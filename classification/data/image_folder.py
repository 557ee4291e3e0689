"""Image data sets stored as ``<root>/{train,test}/<class>/<image>`` (torchvision ImageFolder layout).

Used for the JPEG copy of CIFAR-10 in ``../shared/data/cifar10_jpg``. Class
indices follow torchvision's sorted folder names, which for CIFAR-10's ten
class names is the official label order (airplane=0 ... truck=9). Decoded
images are kept in memory (optionally resized once, for CPU-scale searches),
so an epoch costs no JPEG decoding after the first.
"""
from pathlib import Path

from PIL import Image

from classification.data.errors import DataError

_DECODED = {}  # (path, resize) -> RGB PIL image; shared by the augmented and plain views of one split


def _load(path, resize):
    key = (path, resize)
    image = _DECODED.get(key)
    if image is None:
        with Image.open(path) as handle:
            image = handle.convert('RGB')
        if resize is not None and image.size != (resize, resize):
            image = image.resize((resize, resize), Image.BILINEAR)
        _DECODED[key] = image
    return image


def load_image_folder(root, split, transform=None, resize=None, what='image folder'):
    """torchvision ``ImageFolder`` over ``root/split`` with a clear error for a missing or empty folder."""
    from torchvision.datasets import ImageFolder
    folder = Path(root) / split
    if not folder.is_dir():
        raise DataError(f'{what}: folder {folder} not found (expected {root}/{split}/<class>/<image>.jpg)')
    if resize is not None and (not isinstance(resize, int) or resize < 4):
        raise DataError(f'{what}: data.resize must be null or an int >= 4, got {resize!r}')
    try:
        dataset = ImageFolder(str(folder), transform=transform, loader=lambda p: _load(p, resize))
    except (FileNotFoundError, RuntimeError) as err:  # no class folders / no images in them
        raise DataError(f'{what}: {folder}: {err}') from None
    # Interleave the classes (file name first, then class) so that every prefix of a sorted index list, e.g.
    # data.subset of a sorted half split, is class-balanced, as the shuffled CIFAR pickles are.
    dataset.samples.sort(key=lambda item: (Path(item[0]).name, item[1]))
    dataset.imgs = dataset.samples
    dataset.targets = [target for _, target in dataset.samples]
    return dataset
