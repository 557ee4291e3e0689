"""Data-parallel search and training under ``torchrun``: PyTorch's own process group, DDP and sampler rule.

Launched with ``torchrun --nproc_per_node N ...``, every process reads its
rank from torchrun's environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``MASTER_ADDR``/``MASTER_PORT``) and joins one process group: ``nccl`` on
CUDA (each process on ``cuda:LOCAL_RANK``), ``gloo`` on CPU. Without those
variables every helper here is a no-op for one process, so single-process
runs are unchanged.

What the search loop does with it (see docs/distributed.md):

* the weights are wrapped in ``DistributedDataParallel`` (``wrap``), which
  averages their gradients during ``backward``;
* the architecture gradient is computed with ``torch.autograd.grad``, which
  bypasses DDP's hooks, so every gradient the architects take is averaged
  explicitly (``all_reduce_mean``): a global batch B split over N ranks gives
  the gradient of the mean loss over all B samples, as one process would;
* each rank reads ``rank_share`` of every global batch: the items
  ``DistributedSampler`` (no shuffle, drop_last) gives it, i.e.
  ``batch[rank::world]``; the global order itself is drawn from the epoch's
  seed, identical on every rank, so a resumed run replays the same batches;
* only rank 0 writes logs, plots, genotype files and checkpoints.
"""
import json
import os
from typing import Any, Dict, List, Sequence

import torch
import torch.distributed as dist
from torch.utils.data import BatchSampler, DataLoader, DistributedSampler, Sampler

from srnas.nas.errors import NASConfigError

TORCHRUN_VARS = ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT')


def launched_by_torchrun() -> bool:
    return all(name in os.environ for name in TORCHRUN_VARS)


def init_from_env() -> bool:
    """Join the process group torchrun describes (once); False when not launched by torchrun."""
    if initialized():
        return True
    if not launched_by_torchrun():
        return False
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ['LOCAL_RANK']))
        dist.init_process_group(backend='nccl')
    else:
        dist.init_process_group(backend='gloo')
    return True


def teardown() -> None:
    if initialized():
        dist.destroy_process_group()


def initialized() -> bool:
    return dist.is_available() and dist.is_initialized()


def world_size() -> int:
    return dist.get_world_size() if initialized() else 1


def rank() -> int:
    return dist.get_rank() if initialized() else 0


def active() -> bool:
    """True when more than one process shares the work."""
    return world_size() > 1


def is_main() -> bool:
    """Rank 0 (or a single process): the one process that writes files and logs."""
    return rank() == 0


def barrier() -> None:
    if active():
        dist.barrier()


def device() -> torch.device:
    """This process's device: the current CUDA device (``cuda:LOCAL_RANK`` under torchrun) unless a ``gloo``
    group says CPU; the CPU without CUDA."""
    on_cpu = initialized() and dist.get_backend() == 'gloo'
    if torch.cuda.is_available() and not on_cpu:
        return torch.device('cuda', torch.cuda.current_device())
    return torch.device('cpu')


# ------------------------------------------------------------------------------------ reductions
def all_reduce_mean(tensors: Sequence[torch.Tensor]) -> List[torch.Tensor]:
    """The mean over ranks of each tensor (new tensors; the inputs are untouched).

    Tensors of one dtype and device travel in one flat buffer: one collective per group, not per tensor.
    """
    tensors = list(tensors)
    if not active():
        return tensors
    out: List[Any] = [None] * len(tensors)
    groups: Dict[Any, List[int]] = {}
    for i, t in enumerate(tensors):
        groups.setdefault((t.dtype, t.device), []).append(i)
    scale = 1.0 / world_size()
    for indices in groups.values():
        flat = torch.cat([tensors[i].detach().reshape(-1) for i in indices])
        dist.all_reduce(flat)
        flat.mul_(scale)
        offset = 0
        for i in indices:
            n = tensors[i].numel()
            out[i] = flat[offset:offset + n].view_as(tensors[i])
            offset += n
    return out


def mean_floats(values: Dict[str, float]) -> Dict[str, float]:
    """Mean over ranks of a mapping of numbers with the same keys on every rank (e.g. an epoch's loss means)."""
    numeric = sorted(k for k, v in values.items() if isinstance(v, (int, float)) and not isinstance(v, bool))
    if not active() or not numeric:
        return dict(values)
    buffer = torch.tensor([float(values[k]) for k in numeric], dtype=torch.float64, device=device())
    dist.all_reduce(buffer)
    means = (buffer / world_size()).tolist()
    return {**values, **dict(zip(numeric, means))}


def from_main(obj: Any) -> Any:
    """Rank 0's ``obj`` on every rank (picklable objects), so every rank takes the same decisions."""
    if not active():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def check_agree(obj: Any, what: str) -> None:
    """Raise when the ranks hold different ``obj`` (JSON-able): their alphas have drifted apart."""
    if not active():
        return
    text = json.dumps(obj, sort_keys=True)
    gathered: List[Any] = [None] * world_size()
    dist.all_gather_object(gathered, text)
    differing = [r for r, other in enumerate(gathered) if other != gathered[0]]
    if differing:
        raise NASConfigError(f'distributed: rank(s) {differing} disagree with rank 0 on the {what}')


@torch.no_grad()
def broadcast_buffers(module: torch.nn.Module) -> None:
    """Rank 0's buffers (BatchNorm running statistics) on every rank, so evaluations agree."""
    if not active():
        return
    for buf in module.buffers():
        dist.broadcast(buf, src=0)


# ------------------------------------------------------------------------------------ models
def wrap(model: torch.nn.Module, find_unused_parameters: bool = False):
    """``model`` in ``DistributedDataParallel`` (or ``model`` itself for one process).

    DDP broadcasts rank 0's parameters and buffers on construction, so every rank starts from the same state.
    """
    if not active():
        return model
    from torch.nn.parallel import DistributedDataParallel
    first = next(model.parameters())
    ids = [first.device.index] if first.device.type == 'cuda' else None
    return DistributedDataParallel(model, device_ids=ids, find_unused_parameters=find_unused_parameters)


def unwrap(model):
    """The module inside a ``DistributedDataParallel`` wrapper (or ``model`` itself)."""
    from torch.nn.parallel import DistributedDataParallel
    return model.module if isinstance(model, DistributedDataParallel) else model


# ------------------------------------------------------------------------------------ data
def per_rank_batch(global_batch: int, what: str) -> int:
    """The batch one rank reads when ``global_batch`` is split over the ranks (must divide evenly)."""
    n = world_size()
    if global_batch % n:
        raise NASConfigError(f'{what}: the batch size {global_batch} must be divisible by the {n} processes')
    return global_batch // n


def rank_share(items: Sequence) -> list:
    """This rank's items of ``items`` by ``DistributedSampler``'s rule (no shuffle, drop_last): items[rank::world]."""
    items = list(items)
    if not active():
        return items
    sampler = DistributedSampler(items, num_replicas=world_size(), rank=rank(), shuffle=False, drop_last=True)
    return [items[i] for i in sampler]


class RankBatches(Sampler):
    """A batch sampler giving this rank's share of every batch of ``batches`` (the global ones)."""

    def __init__(self, batches: BatchSampler):
        self.batches = batches

    def __iter__(self):
        for batch in self.batches:
            yield rank_share(batch)

    def __len__(self):
        return len(self.batches)


def shard_loader(loader: DataLoader, what: str) -> DataLoader:
    """``loader`` split over the ranks: each global batch of ``loader`` (same order, same generator draws,
    same augmentation seeds) is read as ``rank_share`` of it by each rank. One process: ``loader`` itself."""
    if not active():
        return loader
    per_rank_batch(loader.batch_size, what)
    batches = BatchSampler(loader.sampler, loader.batch_size, loader.drop_last)
    return DataLoader(loader.dataset, batch_sampler=RankBatches(batches), num_workers=loader.num_workers,
                      collate_fn=loader.collate_fn, pin_memory=loader.pin_memory,
                      worker_init_fn=loader.worker_init_fn, generator=loader.generator)
