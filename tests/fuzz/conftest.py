"""Fuzz tests of bad input (issue 11, item 4): hypothesis profiles and small valid inputs to mutate.

CI runs the ``ci`` profile (a few derandomised cases per command); ``SRNAS_FUZZ=long`` runs many more,
e.g. ``SRNAS_FUZZ=long pytest tests/fuzz --hypothesis-show-statistics`` (counts in docs/reliability.md).
"""
import os

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, settings

_COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
               database=None)
settings.register_profile('ci', max_examples=12, derandomize=True, **_COMMON)
settings.register_profile('long', max_examples=400, **_COMMON)
# while fixing: many cases, failures reported as found, no shrinking (each case runs a command)
settings.register_profile('survey', max_examples=60, phases=[Phase.explicit, Phase.generate], **_COMMON)
settings.load_profile(os.environ.get('SRNAS_FUZZ', 'ci'))


@pytest.fixture(autouse=True, scope='module')
def one_torch_thread():
    import torch
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def write_pairs(root, scale=2, sizes=((16, 16), (16, 12)), seed=0):
    """GT/LQ folders of random uint8 images whose sizes fit ``scale``; returns (gt_dir, lq_dir)."""
    rng = np.random.default_rng(seed)
    gt_dir, lq_dir = root / 'GT', root / 'LQ'
    gt_dir.mkdir(parents=True)
    lq_dir.mkdir(parents=True)
    for i, (h, w) in enumerate(sizes):
        cv2.imwrite(str(lq_dir / f'im{i}.png'), rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        cv2.imwrite(str(gt_dir / f'im{i}.png'), rng.integers(0, 256, (h * scale, w * scale, 3), dtype=np.uint8))
    return gt_dir, lq_dir


@pytest.fixture(scope='module')
def fuzz_inputs(tmp_path_factory):
    """Valid inputs every fuzz case starts from: paired folders, IMDN and child weights, a genotype file."""
    import torch
    from srnas.commands.export import build_child
    from srnas.nas.files import atomic_torch_save
    from srnas.spaces.genotypes import save_genotype
    from srnas.spaces.imdn_network import IMDNNetwork
    root = tmp_path_factory.mktemp('fuzz_inputs')
    train = write_pairs(root / 'train')
    val = write_pairs(root / 'val', seed=1)
    torch.manual_seed(0)
    atomic_torch_save({'params': IMDNNetwork(2, num_feat=8, num_blocks=1).state_dict()}, root / 'imdn.pth')
    genotype = save_genotype({'space': 'imdn', 'ops': ['conv_3x3'] * 4}, root / 'genotype.json',
                             extra={'scale': 2, 'supernet': {'num_feat': 8}})
    child = {'type': 'SRNASIMDNChild', 'genotype': str(genotype), 'upscale': 2, 'num_feat': 8}
    atomic_torch_save({'params': build_child(child).state_dict()}, root / 'child.pth')
    return {'root': root, 'train': train, 'val': val, 'imdn_weights': root / 'imdn.pth', 'genotype': genotype,
            'child': child, 'child_weights': root / 'child.pth'}
