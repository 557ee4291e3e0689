"""CIFAR-10 as JPEG files in the ImageFolder layout (``data.name: cifar10_jpg``)."""
import pytest
import torch
from PIL import Image

from classification.data.errors import DataError
from classification.data.loaders import data_config, load_dataset, search_loaders

CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']


def _fake_folder(root, per_class=4, classes=('cat', 'dog'), size=12):
    for c, name in enumerate(classes):
        folder = root / 'train' / name
        folder.mkdir(parents=True)
        for i in range(per_class):
            # class c is a flat image of grey level 40 + 150 c: its label is readable from the pixels
            Image.new('RGB', (size, size), (40 + 150 * c,) * 3).save(folder / f'{i:04d}.jpg', quality=95)
    return root


def test_labels_follow_sorted_class_folders_and_classes_interleave(tmp_path):
    root = _fake_folder(tmp_path)
    cfg = data_config({'name': 'cifar10_jpg', 'root': str(root), 'resize': 8})
    dataset = load_dataset(cfg, train=True, augment=False)
    assert dataset.classes == ['cat', 'dog']
    assert dataset.targets == [0, 1] * 4  # rank within class first, so every prefix is balanced
    for image, label in dataset:
        assert image.shape == (3, 8, 8)  # resized once at load
        std, mean = torch.tensor([63.0, 62.1, 66.7]), torch.tensor([125.3, 123.0, 113.9])  # CIFAR-10 stats x 255
        raw = image * std[:, None, None] + mean[:, None, None]
        assert abs(float(raw.mean()) - (40 + 150 * label)) < 3  # un-normalised grey level gives the class back


def test_missing_or_empty_folder_is_a_clear_error(tmp_path):
    cfg = data_config({'name': 'cifar10_jpg', 'root': str(tmp_path / 'nowhere')})
    with pytest.raises(DataError, match=r'cifar10_jpg: folder .*nowhere/train not found'):
        load_dataset(cfg, train=True, augment=True)
    (tmp_path / 'empty' / 'test').mkdir(parents=True)
    cfg = data_config({'name': 'cifar10_jpg', 'root': str(tmp_path / 'empty')})
    with pytest.raises(DataError, match=r'cifar10_jpg: .*empty/test'):
        load_dataset(cfg, train=False, augment=False)
    with pytest.raises(DataError, match='data.resize is only used with data.name cifar10_jpg'):
        data_config({'name': 'digits', 'resize': 8})


@pytest.mark.shared_data
def test_real_cifar10_jpg_search_split(shared_data):
    cfg = data_config({'name': 'cifar10_jpg', 'root': str(shared_data / 'cifar10_jpg'), 'resize': 16,
                       'subset': 200, 'batch_size': 50})
    train, alpha, valid, n_classes = search_loaders(cfg, seed=0)
    assert n_classes == 10
    full = train.dataset.dataset
    assert full.classes == CIFAR10_CLASSES and len(full) == 20000  # README: 2,000 train images per class
    train_idx, valid_idx = set(train.dataset.indices), set(valid.dataset.indices)
    assert len(train_idx) == len(valid_idx) == 200 and not train_idx & valid_idx
    for indices in (train_idx, valid_idx):
        counts = torch.bincount(torch.tensor([full.targets[i] for i in indices]), minlength=10)
        assert counts.min() >= 10  # a subset of the sorted half is not one class
    x, y = next(iter(train))
    assert x.shape == (50, 3, 16, 16) and y.dtype == torch.int64
