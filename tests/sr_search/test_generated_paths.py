"""Files srnas generates hold absolute paths: a derived YAML works from any working directory (issue 11, item 7)."""
import cv2
import numpy as np
import pytest
import torch
import yaml

from srnas.cli import main as srnas_main
from srnas.spaces.genotypes import DLSR_PAPER_GENOTYPE, save_genotype


def _tiny_demo_layout(root, scale=2, hr=64, count=2):
    """The demo data layout (srnas.demo.data) with random ``hr``x``hr`` GT images and their x``scale`` LR."""
    from srnas.demo.data import split_folders
    rng = np.random.default_rng(0)
    for split in ('train_sub', 'val', 'test'):
        gt_dir, lq_dir = split_folders(root, split, scale)
        gt_dir.mkdir(parents=True)
        lq_dir.mkdir(parents=True)
        for i in range(count):
            gt = rng.integers(0, 256, (hr, hr, 3), dtype=np.uint8)
            cv2.imwrite(str(gt_dir / f'im{i}.png'), gt)
            cv2.imwrite(str(lq_dir / f'im{i}.png'), cv2.resize(gt, (hr // scale, hr // scale)))
    (root / 'train_sub' / 'meta_info_GT.txt').write_text(''.join(f'im{i}.png ({hr},{hr},3)\n' for i in range(count)))


@pytest.mark.slow
def test_derived_yamls_run_from_another_folder(tmp_path, monkeypatch):
    work, elsewhere = tmp_path / 'work', tmp_path / 'elsewhere'
    elsewhere.mkdir()
    _tiny_demo_layout(work / 'data')
    save_genotype(DLSR_PAPER_GENOTYPE, work / 'g.json', extra={'scale': 2, 'supernet': {'num_feat': 8}})

    monkeypatch.chdir(work)  # every argument relative, as a user in the folder would type them
    assert srnas_main(['derive', '-g', 'g.json', '--preset', 'demo', '--data_root', 'data', '--out_dir', 'opts',
                       '--total_iter', '2', '--name', 'child']) == 0
    assert srnas_main(['train', '-opt', 'opts/child.yml']) == 0
    trained = work / 'experiments' / 'child' / 'models' / 'net_g_latest.pth'  # BasicSR: <cwd>/experiments/<name>
    assert trained.is_file()
    for name in ('child.yml', 'child_test.yml'):
        opt = yaml.safe_load((work / 'opts' / name).read_text())
        datasets = opt['datasets'].values()
        paths = [d[k] for d in datasets for k in ('dataroot_gt', 'dataroot_lq') if k in d]
        paths += [opt['network_g']['genotype']] + [v for k, v in opt['path'].items() if k.startswith('pretrain') and v]
        assert all(p.startswith(str(tmp_path)) for p in paths), paths

    monkeypatch.chdir(elsewhere)  # the generated files, used from another folder
    test_yml = work / 'opts' / 'child_test.yml'
    assert srnas_main(['test', '-opt', str(test_yml)]) == 0
    assert srnas_main(['export', '-opt', str(test_yml), '-o', 'out', '--no_onnx']) == 0
    bundle = torch.load(elsewhere / 'out' / 'SRNASDLSRChild_x2.pth', weights_only=False)
    weights = torch.load(trained, weights_only=False)['params']
    assert bundle['state_dict'].keys() == weights.keys()
    assert all(torch.equal(bundle['state_dict'][k], weights[k]) for k in weights)


def test_test_report_names_an_image_folder_only_when_images_are_saved():
    from srnas.evaluation.test_runner import format_test_report
    report = {'name': 'n', 'scale': 2, 'metrics': {'set': {'psnr': 30.0}}, 'results_root': '/r/n',
              'complexity': {'params': 10, 'multi_adds': 1e9, 'lr_size': (360, 640), 'output_size': (720, 1280)}}
    assert 'visualization' not in format_test_report(dict(report, save_img=False))
    assert 'Images: /r/n/visualization' in format_test_report(dict(report, save_img=True))
