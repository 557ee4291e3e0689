"""Data loaders on files written in the real layouts, NB201 split files, and the embedded digits."""
import json
import pickle

import numpy as np
import pytest
import torch

from classification.data import DataError
from classification.data.cifar import load_cifar
from classification.data.digits import Digits
from classification.data.imagenet16 import ImageNet16
from classification.data.loaders import data_config, search_loaders, train_test_loaders
from classification.data.splits import half_split, load_split_file, write_split_file


def _images(n, seed):
    return np.random.RandomState(seed).randint(0, 256, size=(n, 3, 32, 32), dtype=np.uint8)


def write_cifar10(root, per_batch=4):
    """The python-pickle layout of cifar-10-python.tar.gz (protocol 2, str keys, CHW rows of 3072 bytes)."""
    folder = root / 'cifar-10-batches-py'
    folder.mkdir(parents=True)
    truth = {}
    for k, name in enumerate([f'data_batch_{i}' for i in range(1, 6)] + ['test_batch']):
        images = _images(per_batch, k)
        labels = [(k + i) % 10 for i in range(per_batch)]
        entry = {'batch_label': f'batch {k}', 'labels': labels, 'data': images.reshape(per_batch, -1),
                 'filenames': [f'img_{k}_{i}.png' for i in range(per_batch)]}
        with open(folder / name, 'wb') as handle:
            pickle.dump(entry, handle, protocol=2)
        truth[name] = (images, labels)
    with open(folder / 'batches.meta', 'wb') as handle:
        pickle.dump({'label_names': [f'class{i}' for i in range(10)], 'num_cases_per_batch': per_batch,
                     'num_vis': 3072}, handle, protocol=2)
    return truth


def write_cifar100(root, n=6):
    folder = root / 'cifar-100-python'
    folder.mkdir(parents=True)
    truth = {}
    for k, name in enumerate(['train', 'test']):
        images = _images(n, 10 + k)
        fine = [(7 * i + k) % 100 for i in range(n)]
        entry = {'filenames': [f'{i}.png' for i in range(n)], 'batch_label': name, 'fine_labels': fine,
                 'coarse_labels': [f // 5 for f in fine], 'data': images.reshape(n, -1)}
        with open(folder / name, 'wb') as handle:
            pickle.dump(entry, handle, protocol=2)
        truth[name] = (images, fine)
    with open(folder / 'meta', 'wb') as handle:
        pickle.dump({'fine_label_names': [f'f{i}' for i in range(100)],
                     'coarse_label_names': [f'c{i}' for i in range(20)]}, handle, protocol=2)
    return truth


def test_cifar10_pickles_load_through_torchvision(tmp_path):
    truth = write_cifar10(tmp_path)
    train = load_cifar('cifar10', tmp_path, train=True, verify_md5=False)
    test = load_cifar('cifar10', tmp_path / 'cifar-10-batches-py', train=False, verify_md5=False)
    assert len(train) == 20 and len(test) == 4
    expected = np.concatenate([truth[f'data_batch_{i}'][0] for i in range(1, 6)]).transpose(0, 2, 3, 1)
    assert np.array_equal(train.data, expected)
    assert train.targets == sum((truth[f'data_batch_{i}'][1] for i in range(1, 6)), [])
    image, label = test[3]
    assert np.array_equal(np.asarray(image), truth['test_batch'][0][3].transpose(1, 2, 0))
    assert label == truth['test_batch'][1][3]
    assert train.classes[0] == 'class0'


def test_cifar100_pickles_use_fine_labels(tmp_path):
    truth = write_cifar100(tmp_path)
    train = load_cifar('cifar100', tmp_path, train=True, verify_md5=False)
    assert train.targets == truth['train'][1]
    assert np.array_equal(train.data, truth['train'][0].transpose(0, 2, 3, 1))


def test_cifar_errors_name_the_folder(tmp_path):
    with pytest.raises(DataError, match='cifar-10-batches-py.*not found'):
        load_cifar('cifar10', tmp_path, train=True)
    write_cifar10(tmp_path)
    # real md5 checking rejects non-official files and says how to accept them
    with pytest.raises(DataError, match='verify_md5'):
        load_cifar('cifar10', tmp_path, train=True, verify_md5=True)
    (tmp_path / 'cifar-10-batches-py' / 'data_batch_3').unlink()
    with pytest.raises(DataError, match=r"missing files \['data_batch_3'\]"):
        load_cifar('cifar10', tmp_path, train=True, verify_md5=False)
    (tmp_path / 'cifar-10-batches-py' / 'data_batch_3').write_bytes(b'garbage')
    with pytest.raises(DataError, match='cifar-10-batches-py'):
        load_cifar('cifar10', tmp_path, train=True, verify_md5=False)


def test_imagenet16_keeps_first_120_classes_zero_based(tmp_path):
    rng = np.random.RandomState(0)
    labels_by_file = {}
    for i in range(1, 11):
        labels = [1, 120, 121, 500, 60] if i == 1 else [2, 999]
        data = rng.randint(0, 256, size=(len(labels), 768), dtype=np.uint8)
        with open(tmp_path / f'train_data_batch_{i}', 'wb') as handle:
            pickle.dump({'data': data, 'labels': labels, 'mean': np.zeros(768)}, handle, protocol=2)
        labels_by_file[i] = (data, labels)
    with open(tmp_path / 'val_data', 'wb') as handle:
        pickle.dump({'data': rng.randint(0, 256, size=(3, 768), dtype=np.uint8), 'labels': [5, 130, 120]}, handle)
    train = ImageNet16(tmp_path, train=True)
    assert train.targets == [0, 119, 59] + [1] * 9
    first = labels_by_file[1][0][0].reshape(3, 16, 16).transpose(1, 2, 0)  # R, G, B planes -> HWC
    assert np.array_equal(np.asarray(train[0][0]), first)
    assert ImageNet16(tmp_path, train=False).targets == [4, 119]
    (tmp_path / 'val_data').unlink()
    with pytest.raises(DataError, match=r"missing files \['val_data'\]"):
        ImageNet16(tmp_path, train=False)


def test_half_split_reproduces_nb201_cifar_split_checkpoints():
    split = half_split(50000)
    assert len(split['train']) == len(split['valid']) == 25000
    assert set(split['train']).isdisjoint(split['valid'])
    assert [split['train'][i] for i in (0, 10, 111)] == [0, 26, 203]
    assert [split['valid'][i] for i in (0, 10, 111)] == [1, 18, 242]


def test_split_file_round_trip_and_errors(tmp_path):
    path = write_split_file({'train': [5, 0, 3], 'valid': [1, 2, 4]}, tmp_path / 'cifar-split.txt')
    raw = json.loads(path.read_text())
    assert raw['train'] == ['int', ['0', '3', '5']]  # the official encoding: sorted decimal strings
    assert load_split_file(path) == {'train': [0, 3, 5], 'valid': [1, 2, 4]}
    bad = tmp_path / 'bad.txt'
    bad.write_text(json.dumps({'train': [0, 1]}))
    with pytest.raises(DataError, match="bad.txt: 'train' must be"):
        load_split_file(bad)


def test_search_loaders_use_split_file_on_cifar_layout(tmp_path):
    write_cifar10(tmp_path)
    split_path = write_split_file({'train': list(range(0, 20, 2)), 'valid': list(range(1, 20, 2))},
                                  tmp_path / 'split.txt')
    cfg = data_config({'name': 'cifar10', 'root': str(tmp_path), 'verify_md5': False, 'split': 'file',
                       'split_file': str(split_path), 'batch_size': 4, 'cutout': 8})
    train, alpha, valid, classes = search_loaders(cfg)
    assert classes == 10
    assert train.dataset.indices == list(range(0, 20, 2)) and valid.dataset.indices == list(range(1, 20, 2))
    x, y = next(iter(train))
    assert x.shape == (4, 3, 32, 32) and y.dtype == torch.int64
    bad = write_split_file({'train': [0, 99], 'valid': [1]}, tmp_path / 'bad_split.txt')
    with pytest.raises(DataError, match='index 99 is outside a data set of 20'):
        search_loaders({**cfg, 'split_file': str(bad)})


def test_embedded_digits_are_real_and_split_disjointly():
    from sklearn.datasets import load_digits
    train, test = Digits(train=True, image_size=8), Digits(train=False, image_size=8)
    assert len(train) == 1437 and len(test) == 360
    assert sorted(set(train.targets)) == list(range(10))
    # every image is one of the 1,797 scikit-learn digits scaled to 0..255 with its own label
    source = {np.clip(np.rint(im * 255 / 16), 0, 255).astype(np.uint8).tobytes(): int(t)
              for im, t in zip(load_digits().images, load_digits().target)}
    for data, target in ((train.data, train.targets), (test.data, test.targets)):
        for image, label in zip(data[:50], target[:50]):
            assert source[image[..., 0].tobytes()] == label
    loader, _, classes = train_test_loaders(data_config({'name': 'digits', 'batch_size': 16}))
    x, _ = next(iter(loader))
    assert classes == 10 and x.shape == (16, 3, 16, 16)


def test_bad_data_options_are_clear_errors():
    with pytest.raises(DataError, match="data.name 'svhn'"):
        data_config({'name': 'svhn'})
    with pytest.raises(DataError, match='data.root is required'):
        data_config({'name': 'cifar10'})
    with pytest.raises(DataError, match=r"unknown option\(s\) \['batchsize'\]"):
        data_config({'name': 'digits', 'batchsize': 3})
