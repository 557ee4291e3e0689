"""`srnas prepare` against MATLAB-made LR, and `srnas test` with the official IMDN weights on Set5."""
import cv2
import numpy as np
import pytest

from srnas.cli import main as srnas_main
from srnas.evaluation.test_runner import run_test

from tests.foundation.helpers import write_yaml

SET5 = ('baby', 'bird', 'butterfly', 'head', 'woman')
# Acceptance thresholds (IMDN paper: 38.00 / 34.36 / 32.21 dB)
THRESHOLDS = {2: (37.99, 0.960), 3: (34.35, 0.926), 4: (32.20, 0.894)}


@pytest.fixture(scope='module')
def prepared_set5(shared_data, tmp_path_factory):
    out = tmp_path_factory.mktemp('bench') / 'Set5'
    code = srnas_main(['prepare', 'benchmark', '-i', str(shared_data / 'benchmarks' / 'Set5'), '-o', str(out),
                       '--scales', '2', '3', '4'])
    assert code == 0
    return out


@pytest.mark.shared_data
@pytest.mark.parametrize('scale', [2, 3, 4])
def test_prepared_lr_matches_matlab(prepared_set5, shared_data, scale):
    for name in SET5:
        ours = cv2.imread(str(prepared_set5 / f'LRbicx{scale}' / f'{name}.png')).astype(int)
        matlab = cv2.imread(str(shared_data / 'benchmarks_lr_reference' / 'Set5_matlab' / f'x{scale}'
                                / f'{name}x{scale}.bmp')).astype(int)
        assert ours.shape == matlab.shape
        diff = np.abs(ours - matlab)
        assert diff.max() <= 2 and diff.mean() < 0.2, (name, diff.max(), diff.mean())
        gt = cv2.imread(str(prepared_set5 / f'GTmod{scale}' / f'{name}.png'))
        assert gt.shape[:2] == (ours.shape[0] * scale, ours.shape[1] * scale)


@pytest.mark.shared_data
@pytest.mark.parametrize('scale', [2, 3, 4])
def test_official_weights_reproduce_the_paper(prepared_set5, shared_data, tmp_path, scale):
    opt = {
        'name': f'IMDN_x{scale}_official', 'model_type': 'SRModel', 'scale': scale, 'num_gpu': 0,
        'datasets': {'test_1': {'name': 'Set5', 'type': 'PairedImageDataset',
                                'dataroot_gt': str(prepared_set5 / f'GTmod{scale}'),
                                'dataroot_lq': str(prepared_set5 / f'LRbicx{scale}'), 'io_backend': {'type': 'disk'}}},
        'network_g': {'type': 'SRNASIMDN', 'upscale': scale},
        # the official file itself: srnas test converts its keys
        'path': {'pretrain_network_g': str(shared_data / 'pretrained' / f'IMDN_x{scale}.pth'), 'strict_load_g': True},
        'val': {'save_img': False, 'metrics': {
            'psnr': {'type': 'calculate_psnr', 'crop_border': scale, 'test_y_channel': True},
            'ssim': {'type': 'calculate_ssim', 'crop_border': scale, 'test_y_channel': True}}},
    }
    report = run_test(write_yaml(tmp_path / 'test.yml', opt), root_path=tmp_path)
    psnr, ssim = report['metrics']['Set5']['psnr'], report['metrics']['Set5']['ssim']
    min_psnr, min_ssim = THRESHOLDS[scale]
    assert psnr >= min_psnr and ssim >= min_ssim, (psnr, ssim)
    assert report['complexity']['params'] == {2: 694_404, 3: 703_059, 4: 715_176}[scale]
