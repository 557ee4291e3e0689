"""How many ATen ops one call dispatches: on a GPU each non-view op is (at least) one kernel launch.

``with AtenOpCounter() as count: step()`` then ``count.total``, ``count.views`` (ops that only alias
their input: no kernel), ``count.kernels`` (the rest) and ``count.by_op`` (name -> calls). It is a
``TorchDispatchMode``, so it sees every op below autograd, the backward's ops included (the
autograd engine carries the mode into backward), whoever calls them: modules, custom autograd
Functions, optimizers. The counting itself is slow (one Python call per op): time nothing inside it.
"""
from collections import Counter

from torch.utils._python_dispatch import TorchDispatchMode


class AtenOpCounter(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.by_op = Counter()
        self.views = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.by_op[str(func.overloadpacket.__name__)] += 1
        if func.is_view:
            self.views += 1
        return func(*args, **(kwargs or {}))

    @property
    def total(self) -> int:
        return sum(self.by_op.values())

    @property
    def kernels(self) -> int:
        return self.total - self.views

    def summary(self, top: int = 12) -> dict:
        return {'aten_ops': self.total, 'aten_views': self.views, 'aten_kernels': self.kernels,
                'aten_top': dict(self.by_op.most_common(top))}
