"""Non-finite losses and gradients: found at the step they appear, named, and skipped, rolled back or raised.

Every step pays for one ``torch.isfinite`` on a sum (the loss plus the global
gradient norm, which the weight step's clipping or the architect computes
anyway); only when it fails are the terms looked at one by one to name the
culprit: the data loss, a regulariser (``sa``, ``beta``, ``flops``, ``l2``), an
alpha value, or the gradient of one parameter (its name and parameter group).

The loop option ``nonfinite`` says what happens next:

* ``skip`` (default): the optimizer step is not taken, the log says which
  term at which iteration, the run goes on;
* ``rollback``: the run reloads its newest checkpoint and replays from there;
  a step that is non-finite again after its rollback is skipped (a
  deterministic run would otherwise loop);
* ``raise``: the run stops with a ``NonFiniteError`` naming the term.
"""
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import torch

from srnas.errors import SRNASError

NONFINITE_POLICIES = ('skip', 'rollback', 'raise')


class NonFiniteError(SRNASError, RuntimeError):
    """A loss or gradient went NaN/Inf and the run was asked to stop (``nonfinite: raise``)."""


@dataclass
class Fault:
    step: str    # 'weight' | 'alpha'
    term: str    # what went non-finite, e.g. "data loss (l_pix)", "regulariser 'sa'", 'gradient'
    group: str   # the parameter (group) concerned
    value: str   # 'nan', 'inf', '-inf'

    def describe(self) -> str:
        return f'{self.step} step: {self.term} is {self.value} (parameter group {self.group})'


class RollBack(Exception):
    """Raised inside an epoch to ask the loop to reload its newest checkpoint."""

    def __init__(self, fault: Fault, iteration: int):
        super().__init__(fault.describe())
        self.fault, self.iteration = fault, iteration


def _value(tensor: torch.Tensor) -> str:
    """'nan', 'inf' or '-inf': the first non-finite entry of ``tensor``."""
    bad = tensor.detach().reshape(-1)[~torch.isfinite(tensor.detach().reshape(-1))]
    return str(float(bad[0])) if bad.numel() else 'finite'


def _finite(tensor: torch.Tensor) -> bool:
    return bool(torch.isfinite(tensor.detach()).all())


def grad_norm(params: Iterable[torch.Tensor]) -> torch.Tensor:
    """Global L2 norm of the gradients of ``params`` (what clip_grad_norm_ computes), 0 without any."""
    norms = [torch.linalg.vector_norm(p.grad.detach()) for p in params if p.grad is not None]
    return torch.linalg.vector_norm(torch.stack(norms)) if norms else torch.zeros(())


def _bad_gradient(named: Sequence[Tuple[str, torch.Tensor]]) -> Optional[Tuple[str, str]]:
    for name, param in named:
        if param.grad is not None and not _finite(param.grad):
            return name, _value(param.grad)
    return None


def weight_fault(model, optimizer, loss: torch.Tensor, norm: torch.Tensor, logs: Dict[str, float]) -> Optional[Fault]:
    """None if the weight loss and its gradient are finite (one check), else the term that is not."""
    if bool(torch.isfinite(loss.detach() + norm)):
        return None
    if not _finite(loss):
        named = [key for key, value in logs.items() if not torch.isfinite(torch.tensor(float(value)))]
        term = f"data loss ({', '.join(named)})" if named else 'data loss'
        return Fault('weight', term, 'weights', _value(loss))
    groups = {id(p): index for index, group in enumerate(optimizer.param_groups) for p in group['params']}
    named = [(name, p) for name, p in model.named_parameters() if id(p) in groups]
    found = _bad_gradient(named)
    if found is None:  # a gradient with no name in the model (should not happen): say so plainly
        return Fault('weight', 'gradient', 'weights', _value(norm))
    name, value = found
    param = dict(named)[name]
    return Fault('weight', 'gradient', f'weights[{groups[id(param)]}]: {name}', value)


def alpha_fault(architect, grads: List[torch.Tensor], loss: torch.Tensor, epoch: float) -> Optional[Fault]:
    """None if the architect's loss and direction are finite (one check), else the term that is not."""
    total = loss.detach() + torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g.detach()) for g in grads]))
    if bool(torch.isfinite(total)):
        return None
    model = architect.model
    names = {id(p): name for name, p in model.named_arch_parameters()}
    for alpha in architect.alphas:
        if not _finite(alpha):
            return Fault('alpha', 'alpha value', names.get(id(alpha), '?'), _value(alpha))
    with torch.no_grad():
        for reg in architect.regularizers:
            penalty = reg.penalty(model)
            if not _finite(penalty):
                return Fault('alpha', f"regulariser '{reg.name}'", _groups(reg), _value(penalty))
            if getattr(reg, 'relative', None) is not None and not _finite(torch.tensor(float(reg.coefficient(epoch)))):
                # its weight is calibrated from the data term's alpha gradient: that is what failed
                return Fault('alpha', f"data loss gradient (calibrating '{reg.name}')", _groups(reg), 'nan')
    if not _finite(loss):
        return Fault('alpha', 'data loss', 'alpha', _value(loss))
    for key, reg_grads in architect.regularizer_gradients(epoch).items():
        found = _bad_gradient([(names.get(id(a), '?'), _Grad(g)) for a, g in zip(architect.alphas, reg_grads)])
        if found:
            return Fault('alpha', f"regulariser '{key}' gradient", found[0], found[1])
    found = _bad_gradient([(names.get(id(a), '?'), _Grad(g)) for a, g in zip(architect.alphas, grads)])
    name, value = found if found else ('alpha', 'nan')
    return Fault('alpha', 'data loss gradient', name, value)


class _Grad:
    """Lets a bare gradient tensor be checked like a parameter's ``.grad``."""

    def __init__(self, grad):
        self.grad = grad


def _groups(reg) -> str:
    return 'alpha: ' + ', '.join(getattr(reg, 'groups', ('op',)))


class NumericGuard:
    """Applies the ``nonfinite`` policy to the faults the steps report; remembers what it did."""

    def __init__(self, policy: str, log: Callable[[str], None], can_roll_back: Callable[[], bool] = lambda: False):
        self.policy, self.log, self.can_roll_back = policy, log, can_roll_back
        self.rolled_back = set()   # iterations that caused a rollback: non-finite again on replay -> skipped
        self.events: List[Dict] = []

    def handle(self, fault: Fault, iteration: int, epoch: int) -> None:
        """Returns when the step is to be skipped; raises ``RollBack`` or ``NonFiniteError`` otherwise."""
        where = f'iteration {iteration} (epoch {epoch + 1}): non-finite {fault.describe()}'
        action = 'skip'
        if self.policy == 'raise':
            action = 'raise'
        elif self.policy == 'rollback' and iteration not in self.rolled_back and self.can_roll_back():
            action = 'rollback'
        self.events.append({'iteration': iteration, 'epoch': epoch, 'step': fault.step, 'term': fault.term,
                            'group': fault.group, 'value': fault.value, 'action': action})
        if action == 'raise':
            raise NonFiniteError(f'{where}; stopping (nonfinite: raise)')
        if action == 'rollback':
            self.rolled_back.add(iteration)
            self.log(f'{where}; rolling back to the newest checkpoint')
            raise RollBack(fault, iteration)
        again = ' again after its rollback' if iteration in self.rolled_back else ''
        self.log(f'{where}{again}; step skipped')
