"""`srnas derive --preset full` trains the child on DLSR's own retraining budget (issue 9, item 3.11)."""
import yaml

from srnas.spaces.genotypes import DLSR_PAPER_GENOTYPE, save_genotype


def test_full_preset_is_dlsr_retraining_budget(tmp_path):
    from srnas.commands.derive import derive_child
    genotype = save_genotype(DLSR_PAPER_GENOTYPE, tmp_path / 'g.json', extra={'scale': 2})
    result = derive_child(genotype, preset='full', out_dir=tmp_path / 'derived')
    text = result['train_options'].read_text()
    opt = yaml.safe_load(text)
    train = opt['train']
    # DLSR (notes/sr_spaces.md 1.7): 1000 epochs; an epoch = 18 repeats of DF2K's 3450 images in batches of 32
    assert -(-18 * 3450 // 32) == 1941  # the last, partial batch counts
    assert train['total_iter'] == 1000 * 1941
    assert train['scheduler']['type'] == 'MultiStepLR' and train['scheduler']['gamma'] == 0.5
    assert train['scheduler']['milestones'] == [200 * 1941, 400 * 1941, 600 * 1941, 800 * 1941]
    assert train['grad_clip'] == 50
    assert train['optim_g']['lr'] == 3e-4 and opt['datasets']['train']['batch_size_per_gpu'] == 32
    header = [line for line in text.splitlines() if line.startswith('#')]
    assert any('1,941,000 iterations' in line and '1000 DLSR epochs of 1,941' in line and 'clipped at 50' in line
               for line in header), header
    demo = derive_child(genotype, preset='demo', out_dir=tmp_path / 'demo')
    assert 'grad_clip' not in yaml.safe_load(demo['train_options'].read_text())['train']
