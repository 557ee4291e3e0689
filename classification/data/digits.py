"""The embedded default data set: scikit-learn's handwritten digits (1,797 real 8x8 images, 10 classes).

It ships inside the scikit-learn wheel (``sklearn/datasets/data/digits.csv.gz``),
so a search and a short evaluation run anywhere without downloads. Images are
scaled to 0..255, resized (bilinear) to ``image_size`` and repeated to 3
channels so the CIFAR networks take them unchanged. A fixed shuffle (seed 0)
puts 1,437 images in ``train`` and 360 in ``test``.
"""
import numpy as np
from PIL import Image

from classification.data.arrays import ImageArrayDataset
from classification.data.errors import DataError

NUM_TEST = 360
_SPLIT_SEED = 0


def _load_arrays(image_size):
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise DataError("data.name 'digits' needs scikit-learn (pip install scikit-learn)") from None
    bunch = load_digits()
    images = np.clip(np.rint(bunch.images * (255.0 / 16.0)), 0, 255).astype(np.uint8)
    if image_size != 8:
        images = np.stack([np.asarray(Image.fromarray(im).resize((image_size, image_size), Image.BILINEAR))
                           for im in images])
    rgb = np.repeat(images[..., None], 3, axis=-1)
    order = np.random.RandomState(_SPLIT_SEED).permutation(len(rgb))
    return rgb[order], bunch.target[order].astype(np.int64)


class Digits(ImageArrayDataset):
    def __init__(self, train, transform=None, image_size=16):
        if not isinstance(image_size, int) or image_size < 8:
            raise DataError(f'data.image_size must be an int >= 8 for digits, got {image_size!r}')
        images, labels = _load_arrays(image_size)
        part = slice(0, len(images) - NUM_TEST) if train else slice(len(images) - NUM_TEST, None)
        self.data, self.targets = images[part], labels[part].tolist()
        self.transform = transform
