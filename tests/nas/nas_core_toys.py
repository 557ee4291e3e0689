"""Tiny supernets shared by the NAS-core tests."""
import torch
import torch.nn as nn

from srnas.nas import MixedOp, SupernetMixin, arch_softmax


class ToyEdgeSupernet(SupernetMixin, nn.Module):
    """A single edge: just an alpha vector, no weights."""

    def __init__(self, num_ops=5):
        super().__init__()
        self.register_arch_parameter('alpha', 1e-3 * torch.randn(num_ops), op_names=[f'op{i}' for i in range(num_ops)])


class SmoothSupernet(SupernetMixin, nn.Module):
    """Two mixed ops of smooth (tanh) candidates on vectors, plus edge weights; float64-friendly."""

    def __init__(self, dim=4, num_ops=3, dtype=torch.float64, seed=0):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.mixed = nn.ModuleList([
            MixedOp([nn.Sequential(nn.Linear(dim, dim), nn.Tanh()) for _ in range(num_ops)],
                    names=[f'op{i}' for i in range(num_ops)]) for _ in range(2)])
        self.head = nn.Linear(dim, 1)
        self.to(dtype)
        for p in self.parameters():
            with torch.no_grad():
                p.copy_(torch.randn(p.shape, generator=gen, dtype=dtype) * 0.7)
        self.register_arch_parameter('alpha', torch.randn(2, num_ops, generator=gen, dtype=dtype),
                                     op_names=[f'op{i}' for i in range(num_ops)],
                                     costs=torch.arange(1, num_ops + 1, dtype=dtype).repeat(2, 1))
        self.register_arch_parameter('edge', torch.randn(2, generator=gen, dtype=dtype), group='edge')

    def forward(self, x):
        weights = arch_softmax(self.alpha)
        first = self.mixed[0](x, weights[0])
        second = self.mixed[1](first, weights[1])
        edge = torch.softmax(self.edge, 0)
        return self.head(edge[0] * first + edge[1] * second).squeeze(-1)


def mse_loss_fn(model, batch):
    inputs, targets = batch
    return ((model(inputs) - targets) ** 2).mean()


def make_batch(n=8, dim=4, dtype=torch.float64, seed=1):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, dim, generator=gen, dtype=dtype), torch.randn(n, generator=gen, dtype=dtype)



def make_toy_task(architect_config=None, steps_per_epoch=3, scripted_genotypes=None, scripted_val_losses=None,
                  events=None, architect_cls=None):
    """A whole ``SearchTask``: the float64 ``SmoothSupernet`` fitting random regression batches.

    ``scripted_genotypes`` / ``scripted_val_losses``: per-epoch values the task reports instead of its own.
    ``events`` (a list) receives 'w' for each weight step and 'a' for each architect step, in order.
    """
    from srnas.nas.architects import Architect
    from srnas.nas.genotype import derive_argmax
    from srnas.nas.search_loop import SearchTask

    class ToyTask(SearchTask):
        space = 'toy'

        def __init__(self):
            self.model = SmoothSupernet(seed=0)
            self.weight_optimizer = torch.optim.SGD(self.model.weights(), lr=0.05, momentum=0.9)
            config = architect_config or {'type': 'first_order', 'optimizer': {'type': 'adam', 'lr': 0.05}}
            self.architect = (architect_cls or Architect)(self.model, mse_loss_fn, config)
            self.epoch = None

        def _batches(self, seed, count):
            gen = torch.Generator().manual_seed(seed)
            # noise from the global generator too: exact resume needs the loop to reseed it every epoch
            return [(torch.randn(4, 4, generator=gen, dtype=torch.float64)
                     + 0.01 * torch.rand(4, 4, dtype=torch.float64),
                     torch.randn(4, generator=gen, dtype=torch.float64)) for _ in range(count)]

        def train_batches(self, epoch, seed):
            return self._batches(seed, steps_per_epoch)

        def arch_batches(self, epoch, seed):
            batches = iter(self._batches(seed, steps_per_epoch))
            if events is None:
                return batches
            return (events.append('a') or batch for batch in batches)

        def weight_loss(self, batch):
            if events is not None:
                events.append('w')
            loss = mse_loss_fn(self.model, batch)
            return loss, {'l_mse': float(loss.detach())}

        def evaluate(self, epoch):
            self.epoch = epoch
            if scripted_val_losses is not None:
                return {'valid_loss': scripted_val_losses[epoch]}
            with torch.no_grad():
                return {'valid_loss': float(mse_loss_fn(self.model, make_batch(seed=99)))}

        def genotype(self):
            if scripted_genotypes is not None:
                return list(scripted_genotypes[self.epoch])
            return derive_argmax(self.model.alpha, ['op0', 'op1', 'op2'])

    return ToyTask()


def set_mixed_op_flag(model, flag, value):
    """Set a MixedOp class-level switch (``lean_autograd``, ``skip_zero_candidates``, ...) on every MixedOp of model."""
    for module in model.modules():
        if isinstance(module, MixedOp):
            setattr(module, flag, value)


def saved_bytes(fn):
    """Bytes of the distinct storages autograd keeps for backward while ``fn`` runs."""
    storages = {}

    def pack(t):
        storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return sum(storages.values())


def relative_l2(got, expected):
    """||got - expected|| / ||expected|| over all the tensors together, in float64 on the CPU."""
    diff = sum(float(((g.double().cpu() - e.double().cpu()) ** 2).sum()) for g, e in zip(got, expected))
    return (diff / sum(float((e.double().cpu() ** 2).sum()) for e in expected)) ** 0.5
