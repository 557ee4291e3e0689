"""Per-data-set augmentation and normalisation as in the DARTS / NAS-Bench-201 pipelines."""
import torch
from torchvision import transforms as T

# mean, std in [0, 1] (NAS-Bench-201 / DARTS values)
STATS = {
    'cifar10': ([x / 255 for x in (125.3, 123.0, 113.9)], [x / 255 for x in (63.0, 62.1, 66.7)]),
    'cifar100': ([x / 255 for x in (129.3, 124.1, 112.4)], [x / 255 for x in (68.2, 65.4, 70.4)]),
    'imagenet16-120': ([x / 255 for x in (122.68, 116.66, 104.01)], [x / 255 for x in (63.22, 61.26, 65.09)]),
    'imagenet': ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    'digits': ([0.305] * 3, [0.318] * 3),  # measured on the 1,437 training digits at 16x16
}


class Cutout:
    """Zero one ``length`` x ``length`` square (clipped at the border) at a random centre of a CHW tensor."""

    def __init__(self, length):
        self.length = int(length)

    def __call__(self, image):
        h, w = image.shape[-2:]
        cy = int(torch.randint(h, (1,)))
        cx = int(torch.randint(w, (1,)))
        half = self.length // 2
        y0, y1 = max(cy - half, 0), min(cy + half, h)
        x0, x1 = max(cx - half, 0), min(cx + half, w)
        image = image.clone()
        image[..., y0:y1, x0:x1] = 0.
        return image


def build_transform(name, train, cutout=0, image_size=None):
    mean, std = STATS['cifar10' if name == 'cifar10_jpg' else name]
    normalize = [T.ToTensor(), T.Normalize(mean, std)]
    if name == 'imagenet':
        if train:
            ops = [T.RandomResizedCrop(224), T.RandomHorizontalFlip(),
                   T.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.2)] + normalize
        else:
            ops = [T.Resize(256), T.CenterCrop(224)] + normalize
    elif not train:
        ops = normalize
    elif name == 'cifar10_jpg':  # the same images as cifar10, at image_size (32, or data.resize)
        ops = [T.RandomCrop(image_size, padding=max(1, image_size // 8)), T.RandomHorizontalFlip()] + normalize
    elif name == 'digits':  # no flips: mirrored digits are other glyphs
        ops = [T.RandomCrop(image_size, padding=max(1, image_size // 8))] + normalize
    elif name == 'imagenet16-120':
        ops = [T.RandomHorizontalFlip(), T.RandomCrop(16, padding=2)] + normalize
    else:
        ops = [T.RandomCrop(32, padding=4), T.RandomHorizontalFlip()] + normalize
    if train and cutout and cutout > 0:
        ops.append(Cutout(cutout))
    return T.Compose(ops)
