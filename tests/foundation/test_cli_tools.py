"""`srnas infer` (tiling), `srnas convert`, `srnas complexity`, sub-image extraction and the metrics table."""
import cv2
import numpy as np
import pytest
import torch
from torch import nn

from srnas.archs.imdn_arch import SRNASIMDN
from srnas.cli import main as srnas_main
from srnas.data.prepare import crop_positions, prepare_subimages
from srnas.evaluation.benchmarks import score
from srnas.nas.files import atomic_torch_save
from srnas.utils.checkpoint import read_state_dict
from srnas.utils.errors import InputError
from srnas.utils.tiling import tiled_forward, whole_image_layers

from tests.foundation.helpers import random_pairs, write_yaml


def test_tiled_forward_equals_whole_image_for_a_local_model():
    torch.manual_seed(0)
    # receptive field radius 2 (two 3x3 convs) <= tile_pad: tiles must stitch exactly
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 12, 3, padding=1),
                          nn.PixelShuffle(2)).eval()
    x = torch.rand(1, 3, 23, 37)
    with torch.no_grad():
        whole = model(x)
    torch.testing.assert_close(tiled_forward(model, x, 2, tile=8, tile_pad=2), whole)
    assert not torch.allclose(tiled_forward(model, x, 2, tile=8, tile_pad=0), whole)


def test_tiling_is_refused_for_networks_that_pool_over_the_whole_image():
    from srnas.spaces.dlsr import DLSRChild
    from srnas.spaces.genotypes import DLSR_PAPER_GENOTYPE
    torch.manual_seed(0)
    imdn = SRNASIMDN(2, num_feat=16, num_blocks=2).eval()
    x = torch.rand(1, 3, 40, 40)
    with pytest.raises(InputError, match='pool over the whole image'):
        tiled_forward(imdn, x, 2, tile=16, tile_pad=12)
    assert len(whole_image_layers(imdn)) == 2  # one contrast channel attention per block
    dlsr = DLSRChild(DLSR_PAPER_GENOTYPE, upscale=2)
    assert whole_image_layers(dlsr) and all('esa' in name for name in whole_image_layers(dlsr))
    local = nn.Sequential(nn.Conv2d(3, 12, 3, padding=1), nn.PixelShuffle(2))
    assert whole_image_layers(local) == []



def test_official_imdn_tiles_differ_from_the_whole_image(shared_data):
    """Why tiling is refused: with trained IMDN weights per-tile attention statistics change the output."""
    from skimage import data as skdata
    from srnas.utils.checkpoint import load_weights
    net = SRNASIMDN(2)
    load_weights(net, shared_data / 'pretrained' / 'IMDN_x2.pth')
    net.eval()
    x = torch.from_numpy(skdata.astronaut()[::4, ::4].copy()).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        whole = net(x)
    stitched = tiled_forward(net, x, 2, tile=48, tile_pad=16, allow_seams=True)
    assert (stitched - whole).abs().max() * 255 > 5  # grey levels


def test_infer_writes_named_outputs_with_tiling(tmp_path, capsys):
    torch.manual_seed(0)
    net = SRNASIMDN(3, num_feat=16, num_blocks=1)
    atomic_torch_save({'params': net.state_dict()}, tmp_path / 'w.pth')
    _, lq_dir = random_pairs(tmp_path / 'imgs', 3, sizes=((20, 17), (9, 30)), names=['a', 'b'])
    (lq_dir / 'broken.png').write_bytes(b'xx')
    args = ['infer', '-i', str(lq_dir), '-o', str(tmp_path / 'out'), '--model', str(tmp_path / 'w.pth'),
            '--model_name', 'tiny', '--tile', '8', '--tile_pad', '4']
    # the default IMDN (64 channels, 6 blocks) does not fit these weights: one clear line
    assert srnas_main(args + ['--scale', '3']) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and 'shape mismatch' in err and 'w.pth' in err
    opt = write_yaml(tmp_path / 'net.yml', {'scale': 3, 'network_g': {'type': 'SRNASIMDN', 'upscale': 3,
                                                                      'num_feat': 16, 'num_blocks': 1}})
    # IMDN's contrast channel attention pools over the whole image: tiling is refused by default
    assert srnas_main(args + ['-opt', str(opt)]) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and 'pool over the whole image' in err and '--allow_tile_seams' in err
    assert not (tmp_path / 'out').exists()
    code = srnas_main(args + ['-opt', str(opt), '--allow_tile_seams'])
    assert code == 1  # one unreadable input, reported and skipped
    assert 'broken.png' in capsys.readouterr().err
    out = cv2.imread(str(tmp_path / 'out' / 'a_tiny.png'))
    assert out.shape == (60, 51, 3)
    assert cv2.imread(str(tmp_path / 'out' / 'b_tiny.png')).shape == (27, 90, 3)


def test_convert_handles_module_prefix_and_official_names(tmp_path, shared_data):
    src = shared_data / 'pretrained' / 'IMDN_x2.pth'
    assert srnas_main(['convert', '-i', str(src), '-o', str(tmp_path / 'x2.pth')]) == 0
    converted = torch.load(tmp_path / 'x2.pth', map_location='cpu')['params']
    official = torch.load(src, map_location='cpu')
    torch.testing.assert_close(converted['blocks.5.cca.excite.weight'], official['module.IMDB6.cca.conv_du.2.weight'])
    torch.testing.assert_close(converted['upsampler.conv.bias'], official['module.upsampler.0.bias'])
    # also without the prefix
    atomic_torch_save({k.replace('module.', ''): v for k, v in official.items()}, tmp_path / 'plain.pth')
    assert read_state_dict(tmp_path / 'plain.pth').keys() == converted.keys()


def test_complexity_command(tmp_path, capsys):
    path = write_yaml(tmp_path / 'o.yml', {'scale': 4, 'network_g': {'type': 'SRNASIMDN', 'upscale': 4}})
    assert srnas_main(['complexity', '-opt', str(path)]) == 0
    assert 'Params: 715,176 | Multi-Adds: 40.91 G (LR 180x320 -> 720x1280)' in capsys.readouterr().out


def test_subimages_follow_basicsr_positions_and_stay_aligned(tmp_path):
    assert crop_positions(1000, 480, 240) == [0, 240, 480, 520]
    assert crop_positions(480, 480, 240) == [0]
    rng = np.random.default_rng(1)
    hr_dir = tmp_path / 'hr'
    hr_dir.mkdir()
    cv2.imwrite(str(hr_dir / '0001.png'), rng.integers(0, 256, (100, 124, 3), dtype=np.uint8))
    meta = prepare_subimages(hr_dir, tmp_path / 'out', scales=(2, 4), crop_size=48, step=24)
    lines = meta.read_text().splitlines()
    assert lines[0] == '0001_s001.png (48,48,3)' and len(lines) == 4 * 5
    hr_sub = cv2.imread(str(tmp_path / 'out' / 'DIV2K_train_HR_sub' / '0001_s007.png'))
    lr_sub = cv2.imread(str(tmp_path / 'out' / 'DIV2K_train_LR_bicubic' / 'X4_sub' / '0001_s007.png'))
    assert hr_sub.shape == (48, 48, 3) and lr_sub.shape == (12, 12, 3)


def test_score_is_basicsr_y_psnr():
    rng = np.random.default_rng(2)
    gt = rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)
    out = np.clip(gt.astype(int) + rng.integers(-3, 4, gt.shape), 0, 255).astype(np.uint8)
    # independent Y-PSNR: BT.601 Y from BGR, crop 2
    def y(img):
        img = img.astype(np.float64) / 255.
        return (16. + 65.481 * img[..., 2] + 128.553 * img[..., 1] + 24.966 * img[..., 0])[2:-2, 2:-2]
    mse = np.mean((y(out) - y(gt)) ** 2)
    assert score(out, gt, 2)[0] == pytest.approx(10 * np.log10(255. ** 2 / mse), abs=1e-4)  # BasicSR converts in float32


def test_srnas_test_handles_sets_without_gt(tmp_path):
    from srnas.evaluation.test_runner import format_test_report, run_test
    torch.manual_seed(0)
    net = SRNASIMDN(2, num_feat=16, num_blocks=1)
    atomic_torch_save({'params': net.state_dict()}, tmp_path / 'w.pth')
    gt, lq = random_pairs(tmp_path / 'paired', 2, sizes=((12, 10),))
    _, lq_only = random_pairs(tmp_path / 'single', 2, sizes=((8, 9),))
    opt = {'name': 'mixed', 'model_type': 'SRModel', 'scale': 2, 'num_gpu': 0,
           'datasets': {
               'test_1': {'name': 'paired', 'type': 'PairedImageDataset', 'dataroot_gt': str(gt),
                          'dataroot_lq': str(lq), 'io_backend': {'type': 'disk'}},
               'test_2': {'name': 'mine', 'type': 'SingleImageDataset', 'dataroot_lq': str(lq_only),
                          'io_backend': {'type': 'disk'}}},
           'network_g': {'type': 'SRNASIMDN', 'upscale': 2, 'num_feat': 16, 'num_blocks': 1},
           'path': {'pretrain_network_g': str(tmp_path / 'w.pth')},
           'val': {'save_img': True, 'metrics': {'psnr': {'type': 'calculate_psnr', 'crop_border': 2,
                                                          'test_y_channel': True}}}}
    report = run_test(write_yaml(tmp_path / 't.yml', opt), root_path=tmp_path)
    assert list(report['metrics']) == ['paired']
    # the metric equals an independent evaluation of the same network on the same pair
    from srnas.evaluation.benchmarks import evaluate_model
    expected = evaluate_model(net, {'paired': (gt, lq)}, 2)['paired']['psnr']
    assert report['metrics']['paired']['psnr'] == pytest.approx(expected, abs=1e-6)
    assert (tmp_path / 'results' / 'mixed' / 'visualization' / 'mine' / 'img0_mixed.png').is_file()
    assert '| paired |' in format_test_report(report)


def test_div2k_layout_uses_the_given_lr_images(tmp_path):
    rng = np.random.default_rng(3)
    root = tmp_path / 'DIV2K'
    (root / 'DIV2K_train_HR').mkdir(parents=True)
    (root / 'DIV2K_train_LR_bicubic' / 'X2').mkdir(parents=True)
    cv2.imwrite(str(root / 'DIV2K_train_HR' / '0001.png'), rng.integers(0, 256, (64, 96, 3), dtype=np.uint8))
    lr = rng.integers(0, 256, (32, 48, 3), dtype=np.uint8)  # deliberately not a resize of the HR
    cv2.imwrite(str(root / 'DIV2K_train_LR_bicubic' / 'X2' / '0001x2.png'), lr)
    assert srnas_main(['prepare', 'div2k', '-i', str(root), '-o', str(tmp_path / 'out'), '--scales', '2',
                       '--crop', '32', '--step', '32']) == 0
    sub = cv2.imread(str(tmp_path / 'out' / 'DIV2K_train_LR_bicubic' / 'X2_sub' / '0001_s005.png'))
    np.testing.assert_array_equal(sub, lr[16:32, 16:32])  # 2nd row, 2nd column of a 2x3 grid
