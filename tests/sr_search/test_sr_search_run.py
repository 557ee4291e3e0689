"""End-to-end SR searches at tiny scale: every architect, every regulariser, FLOPs effect, derive."""
import pytest
import torch
import yaml

from tests.sr_search.sr_helpers import TINY_DLSR, TINY_IMDN, search_options, write_options

ADAM = {'type': 'adam', 'lr': 0.01, 'betas': [0.5, 0.999], 'weight_decay': 1.0e-8}


def _initial_alpha(network, seed):
    from srnas.commands.export import build_child  # any registered type builds
    torch.manual_seed(seed)
    return {name: p.detach().clone() for name, p in build_child(network).named_arch_parameters()}


def _run(tmp_path, opt):
    from srnas.commands.search import run_sr_search as run_search
    path = write_options(opt, tmp_path / f"{opt['name']}.yml")
    return run_search(path, root=tmp_path, progress=False)


@pytest.mark.slow
@pytest.mark.parametrize('network, architect', [
    (TINY_IMDN, {'type': 'first_order', 'regularizers': [{'type': 'sa'}]}),
    (TINY_IMDN, {'type': 'second_order', 'regularizers': [{'type': 'beta'}]}),
    (TINY_IMDN, {'type': 'a2m', 'rho': 0.01, 'eps': 0.01, 'regularizers': [{'type': 'flops', 'weight': 0.5}]}),
    (TINY_DLSR, {'type': 'a2m', 'regularizers': [{'type': 'sa', 'nu': 0.25, 'mu': 1.0e6}, {'type': 'l2', 'weight': 1e-3}]}),
], ids=['imdn-first_order-sa', 'imdn-second_order-beta', 'imdn-a2m-flops', 'dlsr-a2m-sa_leaky+l2'])
def test_search_moves_alpha_and_derives_a_trainable_child(tmp_path, tiny_sr_data, network, architect):
    from basicsr.archs import build_network
    from srnas.commands.derive import derive_child

    architect = dict(architect, optimizer=ADAM, warmup_epochs=1)
    opt = search_options(tiny_sr_data, 'tiny_search', network, architect, total_iter=2, iters_per_epoch=1)
    result = _run(tmp_path, opt)
    history = result['history']
    assert [e['arch_updated'] for e in history] == [False, True]  # one warm-up epoch
    norms = history[1]['alpha_grad_norms']
    assert history[0]['alpha_grad_norms'] == {}
    assert set(norms) == {'data', 'total'} | {r['type'] for r in architect['regularizers']}
    if architect['regularizers'] == [{'type': 'sa'}]:  # Eq. 8 at loop epoch 1 = SA-DARTS epoch 2: lambda/N
        assert norms['sa'] == pytest.approx(2 / 5 / 48 ** 0.5, rel=1e-5)  # on all N = 4 x 12 entries
    state = torch.load(result['experiment_dir'] / 'checkpoints' / 'epoch_00001.pth', weights_only=False)
    final = state['architect']['alphas']
    initial = _initial_alpha(network, seed=0)
    assert set(final) == set(initial)
    assert all(not torch.equal(final[k], initial[k]) for k in initial)  # every arch tensor moved
    # alpha is frozen during warm-up: epoch 0's logged softmax equals softmax(initial alpha)
    assert torch.allclose(torch.tensor(history[0]['softmax']['alpha']), torch.softmax(initial['alpha'], -1))
    assert (result['experiment_dir'] / 'plots' / 'alpha_1.png').stat().st_size > 0
    log = yaml.safe_load(result['log_file'].read_text())
    assert log['stable_since_epoch'] in (0, 1) and len(log['epochs']) == 2

    derived = derive_child(result['genotype_file'], preset='demo', out_dir=tmp_path / 'derived')
    train_opt = yaml.safe_load(derived['train_options'].read_text())
    assert train_opt['model_type'] == 'SRModel' and train_opt['train']['pixel_opt']['type'] == 'L1Loss'
    child = build_network(dict(train_opt['network_g']))
    assert child.genotype == result['genotype']
    before = [p.detach().clone() for p in child.parameters()]
    optim = torch.optim.Adam(child.parameters(), lr=1e-3)
    loss = (child(torch.rand(2, 3, 16, 16)) - torch.rand(2, 3, 32, 32)).abs().mean()
    loss.backward()
    optim.step()
    assert all(p.grad is not None for p in child.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, child.parameters()))


@pytest.mark.slow
def test_flops_loss_gives_a_cheaper_child(tmp_path, tiny_sr_data):
    from srnas.spaces.costs import imdn_cost_table
    from srnas.ops.sr_ops import IMDN_CANDIDATES

    def child_cost(genotype):
        table = imdn_cost_table(2)
        return sum(table[row, IMDN_CANDIDATES.index(op)].item() for row, op in enumerate(genotype['ops']))

    costs = {}
    for label, regs in (('plain', []), ('flops', [{'type': 'flops', 'weight': 2.0}])):
        architect = {'type': 'first_order', 'optimizer': ADAM, 'regularizers': regs}
        opt = search_options(tiny_sr_data, f'flops_{label}', TINY_IMDN, architect, total_iter=3, iters_per_epoch=3)
        (tmp_path / label).mkdir()
        costs[label] = child_cost(_run(tmp_path / label, opt)['genotype'])
    assert costs['flops'] < costs['plain']


def test_search_without_arch_split_is_a_clear_error(tmp_path, tiny_sr_data, capsys):
    from srnas.commands.search import main
    opt = search_options(tiny_sr_data, 'no_arch', TINY_IMDN, {'type': 'first_order'})
    del opt['datasets']['train_arch']
    assert main(['-opt', str(write_options(opt, tmp_path / 'x.yml')), '--root', str(tmp_path)]) == 2
    assert "option 'datasets.train_arch': missing" in capsys.readouterr().err


def test_search_with_unknown_regulariser_is_a_clear_error(tmp_path, tiny_sr_data, capsys):
    from srnas.commands.search import main
    opt = search_options(tiny_sr_data, 'bad_reg', TINY_IMDN, {'type': 'first_order', 'regularizers': [{'type': 'sharp'}]})
    assert main(['-opt', str(write_options(opt, tmp_path / 'x.yml')), '--root', str(tmp_path)]) == 2
    assert "unknown regulariser type 'sharp'" in capsys.readouterr().err


def test_derive_on_a_bad_genotype_is_a_clear_error(tmp_path, capsys):
    from srnas.commands.derive import main
    path = tmp_path / 'g.json'
    path.write_text('{"genotype": {"space": "imdn", "ops": ["conv_3x3", "conv_3x3", "conv_3x3", "conv_4x4"]}}')
    assert main(['-g', str(path), '--scale', '2']) == 2
    assert "unknown imdn operation 'conv_4x4'" in capsys.readouterr().err
