"""Build data sets and loaders from the ``data`` mapping of a classification YAML file.

Search (DARTS-style bi-level): the training set is split in two halves, one
for the weights and one for alpha (``split: half`` = NB201's seed-1021
shuffle, or ``split: file`` with a ``cifar-split.txt``-style file). The alpha
half is read with the training augmentation when ``valid_augment`` is true
(A2M and DARTS code), and once more with the test transform to report
validation accuracy. Training from scratch uses the full training set and the
test set.
"""
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Subset

from classification.data.cifar import load_cifar
from classification.data.digits import Digits
from classification.data.errors import DataError
from classification.data.image_folder import load_image_folder
from classification.data.imagenet16 import ImageNet16
from classification.data.splits import check_split, half_split, load_split_file
from classification.data.transforms import build_transform

NUM_CLASSES = {'cifar10': 10, 'cifar10_jpg': 10, 'cifar100': 100, 'imagenet16-120': 120, 'digits': 10}
# cifar10_jpg: CIFAR-10 as <root>/{train,test}/<class>/NNNN.jpg (ImageFolder layout), optionally resized (data.resize)
DATASET_NAMES = ('cifar10', 'cifar10_jpg', 'cifar100', 'imagenet16-120', 'imagenet', 'digits')
INPUT_SIZE = {'cifar10': 32, 'cifar10_jpg': 32, 'cifar100': 32, 'imagenet16-120': 16, 'imagenet': 224}

DATA_DEFAULTS = {
    'name': 'digits', 'root': None, 'verify_md5': True, 'image_size': 16,
    'split': 'half', 'split_file': None, 'split_seed': 1021,
    'batch_size': 64, 'eval_batch_size': 256, 'num_workers': 0,
    'cutout': 0, 'valid_augment': True, 'subset': None, 'resize': None,
}


def data_config(cfg):
    cfg = dict(cfg or {})
    unknown = sorted(set(cfg) - set(DATA_DEFAULTS))
    if unknown:
        raise DataError(f'data: unknown option(s) {unknown}; allowed: {sorted(DATA_DEFAULTS)}')
    cfg = {**DATA_DEFAULTS, **cfg}
    if cfg['name'] not in DATASET_NAMES:
        raise DataError(f"data.name '{cfg['name']}' is not one of {', '.join(DATASET_NAMES)}")
    if cfg['name'] != 'digits' and not cfg['root']:
        raise DataError(f"data.root is required for data.name '{cfg['name']}'")
    if cfg['split'] not in ('half', 'file'):
        raise DataError(f"data.split must be 'half' or 'file', got {cfg['split']!r}")
    for key in ('batch_size', 'eval_batch_size'):
        if not isinstance(cfg[key], int) or cfg[key] < 1:
            raise DataError(f'data.{key} must be a positive int, got {cfg[key]!r}')
    if cfg['resize'] is not None and cfg['name'] != 'cifar10_jpg':
        raise DataError(f"data.resize is only used with data.name cifar10_jpg, not '{cfg['name']}'")
    if cfg['subset'] is not None and (not isinstance(cfg['subset'], int) or cfg['subset'] < 2):
        raise DataError(f"data.subset must be null or an int >= 2, got {cfg['subset']!r}")
    return cfg


def input_size(cfg):
    if cfg['name'] == 'cifar10_jpg' and cfg['resize'] is not None:
        return cfg['resize']
    return cfg['image_size'] if cfg['name'] == 'digits' else INPUT_SIZE[cfg['name']]


def load_dataset(cfg, train, augment):
    """One split of the named data set with the train (``augment``) or test transform."""
    name = cfg['name']
    transform = build_transform(name, augment, cutout=cfg['cutout'] if augment else 0,
                                image_size=input_size(cfg))
    if name == 'digits':
        return Digits(train, transform, image_size=cfg['image_size'])
    root = Path(cfg['root'])
    if name == 'cifar10_jpg':
        return load_image_folder(root, 'train' if train else 'test', transform, resize=cfg['resize'],
                                 what='cifar10_jpg')
    if name in ('cifar10', 'cifar100'):
        return load_cifar(name, root, train, transform, verify_md5=cfg['verify_md5'])
    if name == 'imagenet16-120':
        return ImageNet16(root, train, transform, num_classes=120)
    from torchvision.datasets import ImageFolder
    folder = root / ('train' if train else 'val')
    if not folder.is_dir():
        raise DataError(f'ImageNet: folder {folder} not found (expected {root}/train/<class>/*.JPEG and {root}/val/...)')
    try:
        return ImageFolder(str(folder), transform)
    except (FileNotFoundError, RuntimeError) as err:
        raise DataError(f'ImageNet: {folder}: {err}') from None


def num_classes(cfg, dataset=None):
    if cfg['name'] == 'imagenet':
        return len(dataset.classes) if dataset is not None else 1000
    return NUM_CLASSES[cfg['name']]


def _limit(indices, subset):
    return indices if subset is None else indices[:subset]


def _loader(dataset, batch_size, shuffle, cfg, drop_last=False, seed=0):
    generator = torch.Generator()
    generator.manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, num_workers=cfg['num_workers'],
                      pin_memory=torch.cuda.is_available(), drop_last=drop_last, generator=generator)


def search_loaders(cfg, seed=0):
    """(weight-train loader, alpha loader, validation loader for reporting, number of classes)."""
    train_aug = load_dataset(cfg, train=True, augment=True)
    train_plain = load_dataset(cfg, train=True, augment=False)
    size = len(train_aug)
    if cfg['split'] == 'file':
        if not cfg['split_file']:
            raise DataError("data.split 'file' needs data.split_file (e.g. NAS-Bench-201's cifar-split.txt)")
        split = check_split(load_split_file(cfg['split_file']), ('train', 'valid'), size, cfg['split_file'])
    else:
        split = half_split(size, cfg['split_seed'])
    train_idx = _limit(split['train'], cfg['subset'])
    valid_idx = _limit(split['valid'], cfg['subset'])
    alpha_source = train_aug if cfg['valid_augment'] else train_plain
    batch = cfg['batch_size']
    return (_loader(Subset(train_aug, train_idx), batch, True, cfg, drop_last=len(train_idx) >= batch, seed=seed),
            _loader(Subset(alpha_source, valid_idx), batch, True, cfg, drop_last=len(valid_idx) >= batch,
                    seed=seed + 1),
            _loader(Subset(train_plain, valid_idx), cfg['eval_batch_size'], False, cfg),
            num_classes(cfg, train_aug))


def _first_images(dataset, subset):
    """The first ``subset`` images of ``dataset`` (all of them when ``subset`` is None)."""
    return dataset if subset is None else Subset(dataset, list(range(min(subset, len(dataset)))))


def train_test_loaders(cfg, seed=0):
    """(training loader on the full training set, test loader, number of classes)."""
    train = load_dataset(cfg, train=True, augment=True)
    test, _ = test_loader(cfg)
    limited = _first_images(train, cfg['subset'])
    return (_loader(limited, cfg['batch_size'], True, cfg, drop_last=len(limited) >= cfg['batch_size'], seed=seed),
            test, num_classes(cfg, train))


def test_loader(cfg):
    test = load_dataset(cfg, train=False, augment=False)
    return _loader(_first_images(test, cfg['subset']), cfg['eval_batch_size'], False, cfg), num_classes(cfg, test)
