"""Data parallelism on CPU (gloo, 2 processes): a global batch split over 2 ranks gives what 1 process gives.

Truth: the same computation in one process on the whole batch. The toy supernet
(``SmoothSupernet``, float64) has no BatchNorm, so the split is exact math and
the only differences are float64 rounding of the reductions (tolerance 1e-9).
"""
import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from srnas.nas import distributed
from srnas.nas.architects import Architect
from srnas.nas.search_loop import LoopOptions, SearchTask, latest_checkpoint, run_search
from tests.nas.nas_core_toys import SmoothSupernet, mse_loss_fn

GLOBAL_BATCH = 8
TOL = 1e-9
ARCHITECTS = {
    'first_order': {'type': 'first_order', 'regularizers': [{'type': 'flops', 'relative': 0.3}]},
    'second_order': {'type': 'second_order', 'regularizers': [{'type': 'sa'}, {'type': 'l2', 'weight': 1e-3}]},
    'a2m': {'type': 'a2m', 'rho': 0.1, 'eps': 0.01, 'regularizers': [{'type': 'beta'}]},
}


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _worker(rank, world, port, job, args, out):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    dist.init_process_group('gloo', rank=rank, world_size=world)  # gloo even where CUDA exists: a CPU test
    try:
        torch.save(job(*args), os.path.join(out, f'rank{rank}.pt'))
    finally:
        dist.destroy_process_group()


def run_ranks(job, args, tmp_path, world=2):
    """``job(*args)`` in ``world`` gloo processes; the list of what each rank returned."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    mp.spawn(_worker, args=(world, _free_port(), job, args, str(tmp_path)), nprocs=world, join=True)
    return [torch.load(tmp_path / f'rank{r}.pt', weights_only=False) for r in range(world)]


def global_batch(seed):
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(GLOBAL_BATCH, 4, generator=gen, dtype=torch.float64),
            torch.randn(GLOBAL_BATCH, generator=gen, dtype=torch.float64))


def my_share(batch):
    rows = distributed.rank_share(range(len(batch[0])))
    return tuple(t[rows] for t in batch)


def max_diff(a, b):
    return max(float((x - y).abs().max()) for x, y in zip(a, b))


# ------------------------------------------------------------------------------ architect directions
def direction_job(kind):
    """One architect direction at a fixed point, from this rank's share of the global batches."""
    model = SmoothSupernet(seed=0)
    weight_opt = torch.optim.SGD(model.weights(), lr=0.05, momentum=0.9)
    weight_opt.zero_grad()
    mse_loss_fn(model, global_batch(5)).backward()
    weight_opt.step()  # a momentum buffer for second order to unroll
    architect = Architect(model, mse_loss_fn, ARCHITECTS[kind], weight_optimizer=weight_opt)
    grads, _ = architect.direction(my_share(global_batch(1)), 1, train_batch=my_share(global_batch(2)))
    return [g.detach() for g in grads]


def shuffled_loader():
    """A DataLoader as the classification code builds it: shuffled by its own generator, batch 4."""
    from torch.utils.data import DataLoader, TensorDataset
    return DataLoader(TensorDataset(torch.arange(10)), batch_size=4, shuffle=True, drop_last=True,
                      generator=torch.Generator())


def loader_epochs(loader):
    out = []
    for epoch in range(2):
        loader.generator.manual_seed(100 + epoch)  # the loop reseeds the generator every epoch
        out.append([batch[0].tolist() for batch in loader])
    return out


def rank_job(root):
    """What the fast tests need from 2 ranks, in one spawn (starting processes is the slow part): every
    direction, a sharded loader's batches and the toy searches (written under ``root``)."""
    return {'directions': {kind: direction_job(kind) for kind in ARCHITECTS},
            'batches': loader_epochs(distributed.shard_loader(shuffled_loader(), 'test batch')),
            'searches': {kind: search_job(kind, root / kind, 2) for kind in SEARCHED}}


@pytest.fixture(scope='module')
def two_ranks(tmp_path_factory):
    root = tmp_path_factory.mktemp('ranks')
    return root, run_ranks(rank_job, (root,), root / 'results')


@pytest.fixture(scope='module')
def two_rank_directions(two_ranks):
    return [found['directions'] for found in two_ranks[1]]


def test_sharded_loader_splits_every_global_batch_like_distributed_sampler(two_ranks):
    whole = loader_epochs(shuffled_loader())
    rank0, rank1 = (found['batches'] for found in two_ranks[1])
    for epoch in range(2):
        assert len(rank0[epoch]) == len(whole[epoch]) == 2
        for b, batch in enumerate(whole[epoch]):
            assert rank0[epoch][b] == batch[0::2] and rank1[epoch][b] == batch[1::2]
    assert whole[0] != whole[1]  # reseeded per epoch


@pytest.mark.parametrize('kind', list(ARCHITECTS))
def test_every_architect_direction_on_two_ranks_is_the_one_process_direction(kind, two_rank_directions):
    one = direction_job(kind)
    ranks = [found[kind] for found in two_rank_directions]
    assert max_diff(ranks[0], ranks[1]) == 0  # all-reduce gives every rank the same bits
    assert max_diff(ranks[0], one) < TOL * max(float(g.abs().max()) for g in one)
    # the halves alone give another direction: the all-reduce is what makes them agree
    assert max_diff(direction_job_without_reduce(kind), one) > 1e-6


def direction_job_without_reduce(kind):
    model = SmoothSupernet(seed=0)
    weight_opt = torch.optim.SGD(model.weights(), lr=0.05, momentum=0.9)
    weight_opt.zero_grad()
    mse_loss_fn(model, global_batch(5)).backward()
    weight_opt.step()
    architect = Architect(model, mse_loss_fn, ARCHITECTS[kind], weight_optimizer=weight_opt)
    half = tuple(t[0::2] for t in global_batch(1)), tuple(t[0::2] for t in global_batch(2))
    grads, _ = architect.direction(half[0], 1, train_batch=half[1])
    return [g.detach() for g in grads]


# ------------------------------------------------------------------------------ whole searches
class ShardedToyTask(SearchTask):
    """The float64 toy search; each rank reads its share of every global batch, the weight loss goes through DDP."""
    space = 'toy'

    def __init__(self, kind):
        torch.manual_seed(0)
        self.model = SmoothSupernet(seed=0)
        self.weight_optimizer = torch.optim.SGD(self.model.weights(), lr=0.05, momentum=0.9)
        config = {**ARCHITECTS[kind], 'optimizer': {'type': 'adam', 'lr': 0.05}}
        self.architect = Architect(self.model, mse_loss_fn, config, weight_optimizer=self.weight_optimizer)

    def train_batches(self, epoch, seed):
        return [my_share(global_batch(seed + i)) for i in range(3)]

    def arch_batches(self, epoch, seed):
        return iter([my_share(global_batch(seed + 100 + i)) for i in range(3)])

    def weight_loss(self, batch):
        inputs, targets = batch
        loss = ((self.net()(inputs) - targets) ** 2).mean()
        return loss, {'l_mse': float(loss.detach())}

    def genotype(self):
        return self.model.alpha.argmax(-1).tolist()


def search_job(kind, out_dir, epochs, resume_from_checkpoint=False):
    task = ShardedToyTask(kind)
    resume = latest_checkpoint(out_dir) if resume_from_checkpoint else None
    result = run_search(task, LoopOptions(epochs=epochs, out_dir=out_dir, plot='off', log=lambda line: None),
                        resume=resume)
    return {'state': {k: v.detach().clone() for k, v in task.model.state_dict().items()},
            'losses': [e['losses'] for e in result['history']], 'genotype': result['genotype']}


def whole_and_stopped(root):
    search_job('a2m', root / 'split', 2)
    return search_job('a2m', root / 'whole', 4)


def state_diff(a, b):
    return max(float((a[k] - b[k]).abs().max()) for k in a)


SEARCHED = ('first_order', 'second_order')


@pytest.fixture(scope='module')
def two_rank_searches(two_ranks):
    root, found = two_ranks
    return root, [f['searches'] for f in found]


@pytest.mark.parametrize('kind', SEARCHED)
def test_two_rank_search_gives_the_one_process_alphas_and_weights(kind, tmp_path, two_rank_searches):
    one = search_job(kind, tmp_path / 'one', 2)
    root, found = two_rank_searches
    ranks = [f[kind] for f in found]
    assert state_diff(ranks[0]['state'], ranks[1]['state']) == 0
    assert state_diff(ranks[0]['state'], one['state']) < TOL
    assert ranks[0]['genotype'] == one['genotype']
    for got, want in zip(ranks[0]['losses'], one['losses']):  # the logged losses are global means
        assert got == pytest.approx(want, rel=1e-9)
    assert sorted(p.name for p in (root / kind).iterdir()) == sorted(p.name for p in (tmp_path / 'one').iterdir())


@pytest.mark.slow
def test_a_stopped_two_rank_search_resumes_to_the_uninterrupted_result(tmp_path):
    whole = run_ranks(whole_and_stopped, (tmp_path,), tmp_path / 'a')  # 4 epochs; and one stopped after 2
    resumed = run_ranks(search_job, ('a2m', tmp_path / 'split', 4, True), tmp_path / 'b')
    assert state_diff(resumed[0]['state'], whole[0]['state']) == 0
    assert resumed[0]['losses'] == whole[0]['losses']


def test_one_process_helpers_change_nothing():
    tensors = [torch.arange(3.0), torch.ones(2, 2)]
    assert distributed.all_reduce_mean(tensors)[1] is tensors[1]
    assert distributed.rank_share(range(5)) == [0, 1, 2, 3, 4]
    assert distributed.mean_floats({'a': 1.5, 'b': 'text'}) == {'a': 1.5, 'b': 'text'}
    assert distributed.from_main({'x': 1}) == {'x': 1}
    assert distributed.is_main() and distributed.world_size() == 1 and not distributed.active()
