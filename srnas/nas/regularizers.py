"""Losses on the architecture parameters and their YAML-configured, epoch-scheduled wrappers.

Plain functions (lambda applied by the caller):
    sa_loss(alphas, nu, mu)   SA-DARTS Eq. 7 averaged over all entries (Eq. 8 when nu=1 or mu=0)
    beta_loss(alphas)         beta-DARTS: mean over edges (rows) of logsumexp(alpha_edge)
    flops_loss(alphas, costs) SA-DARTS Eq. 18: sum over mixed ops of sum_i softmax(alpha)_i c_i / sum_i c_i
    cost_fraction(alphas, costs)  expected cost / cost of the most expensive choice (in [min/max, 1])
    l2_loss(alphas)           sum of alpha^2

``alphas`` is one tensor or a sequence of tensors; the last axis indexes the
candidate ops, every other axis indexes mixed ops / edges.

YAML form (a list under the architect's ``regularizers``)::

    - {type: sa, nu: 1.0, mu: 0.0, schedule: {type: epoch_over_k, k: 5}}
    - {type: beta, schedule: {type: linear, start: 0.0, slope: 0.5}}
    - {type: flops, weight: 0.1}            # ``weight`` = constant schedule
    - {type: flops, target: 0.4}            # budget: expected Multi-Adds <= 40 % of the dearest choice
    - {type: flops, relative: 0.3}          # Eq. 18 pulling with 0.3x the data term's alpha-gradient norm

FLOPs budget (``target``): Eq. 18 with weight 1 pulls alpha about two orders of magnitude
harder than the L1 term does, so the search takes the cheapest ops whatever their quality,
and no weight has a meaning that carries across spaces. With ``target: t`` in (0, 1] the
penalty is the squared hinge ``max(0, cost_fraction(alpha) - t)^2``, where cost_fraction is the
expected Multi-Adds of the searched ops over their most expensive choice: no pull while the
expected cost is within budget (quality alone chooses), a pull growing with the excess beyond
it (default weight 1). Squared, not plain: a plain hinge's full-strength kicks at the boundary
fill Adam's second moment and leave the search well under budget. The budget bounds the
*expected* cost; where alpha stays flat the argmax-derived child can still be dear.

FLOPs weight relative to the data term (``relative: r``): at every alpha step the architect
measures the norms of the data term's alpha gradient and of Eq. 18's, and weights Eq. 18 so
that its gradient norm is ``r`` times the data term's (``set_calibrated_weight``). ``r`` reads
the same in any space, at any image range and at any point of the search: 0 ignores cost,
1 lets cost pull as hard as quality, larger values approach the cheapest network.
"""
import dataclasses
from dataclasses import dataclass
from typing import List, Mapping, Optional, Sequence, Union

import torch

from srnas.nas.errors import NASConfigError, check_number
from srnas.nas.registry import REGULARIZER_REGISTRY

Alphas = Union[torch.Tensor, Sequence[torch.Tensor]]


def _as_list(alphas: Alphas) -> List[torch.Tensor]:
    tensors = [alphas] if isinstance(alphas, torch.Tensor) else list(alphas)
    if not tensors:
        raise ValueError('no architecture parameters given to the regulariser')
    return tensors


def sa_loss(alphas: Alphas, nu: float = 1.0, mu: float = 0.0) -> torch.Tensor:
    """Smooth-activation loss (SA-DARTS Eq. 7) averaged over every alpha entry, without lambda."""
    flat = torch.cat([t.reshape(-1) for t in _as_list(alphas)])
    activated = ((1 + nu) * flat + (1 - nu) * flat * torch.erf(mu * (1 - nu) * flat)) / 2
    return activated.mean()


def beta_loss(alphas: Alphas) -> torch.Tensor:
    """beta-DARTS loss: mean over all edges (rows, pooled across tensors) of logsumexp over ops."""
    per_edge = torch.cat([torch.logsumexp(t.reshape(-1, t.shape[-1]), dim=-1) for t in _as_list(alphas)])
    return per_edge.mean()


def _probs_and_costs(name: str, alphas: Alphas, costs: Alphas, temperature: float):
    """(softmax(alpha / T), costs) of every mixed op as (rows, candidates) pairs, shapes checked."""
    alpha_list, cost_list = _as_list(alphas), _as_list(costs)
    if len(alpha_list) != len(cost_list):
        raise ValueError(f'{name}: {len(alpha_list)} alpha tensors but {len(cost_list)} cost tensors')
    pairs = []
    for alpha, cost in zip(alpha_list, cost_list):
        cost = torch.as_tensor(cost, dtype=alpha.dtype, device=alpha.device)
        if cost.shape != alpha.shape:
            raise ValueError(f'{name}: costs of shape {tuple(cost.shape)} for alpha of shape {tuple(alpha.shape)}')
        pairs.append((torch.softmax(alpha.reshape(-1, alpha.shape[-1]) / temperature, dim=-1),
                      cost.reshape(-1, cost.shape[-1])))
    return pairs


def flops_loss(alphas: Alphas, costs: Alphas, temperature: float = 1.0) -> torch.Tensor:
    """Expected normalised cost (SA-DARTS Eq. 18), summed over mixed ops; differentiable in alpha."""
    total = 0.0
    for probs, cost_rows in _probs_and_costs('flops_loss', alphas, costs, temperature):
        norm = cost_rows.sum(dim=-1, keepdim=True)
        if (norm <= 0).any():
            raise ValueError('flops_loss: every mixed op needs a positive total cost')
        total = total + (probs * cost_rows / norm).sum()
    return total


def cost_fraction(alphas: Alphas, costs: Alphas, temperature: float = 1.0) -> torch.Tensor:
    """Expected cost over all mixed ops divided by their most expensive choice; differentiable in alpha."""
    pairs = _probs_and_costs('cost_fraction', alphas, costs, temperature)
    dearest = sum(cost_rows.max(dim=-1).values.sum() for _, cost_rows in pairs)
    if float(dearest) <= 0:
        raise ValueError('cost_fraction: the costs are all zero')
    return sum((probs * cost_rows).sum() for probs, cost_rows in pairs) / dearest


def l2_loss(alphas: Alphas) -> torch.Tensor:
    return sum((t ** 2).sum() for t in _as_list(alphas))


# ----------------------------------------------------------------------------------------------
# Coefficient schedules, driven by the real epoch counter.

class Schedule:
    """A coefficient as a function of the (real) epoch; the fields are the YAML keys of its type."""


@dataclass
class ConstantSchedule(Schedule):
    value: float

    def __call__(self, epoch):
        return self.value


@dataclass
class EpochOverKSchedule(Schedule):
    """lambda = scale * epoch / k (SA-DARTS uses k = 5)."""
    k: float
    scale: float = 1.0

    def __call__(self, epoch):
        return self.scale * epoch / self.k


@dataclass
class LinearSchedule(Schedule):
    """lambda = start + slope * epoch (beta-DARTS: 0 + 0.5 * epoch)."""
    slope: float
    start: float = 0.0

    def __call__(self, epoch):
        return self.start + self.slope * epoch


@dataclass
class RampSchedule(Schedule):
    """Linear ramp from ``start`` (at start_epoch) to ``end`` (at end_epoch), flat outside."""
    end: float
    end_epoch: float
    start: float = 0.0
    start_epoch: float = 0.0

    def __call__(self, epoch):
        if epoch <= self.start_epoch:
            return self.start
        if epoch >= self.end_epoch:
            return self.end
        frac = (epoch - self.start_epoch) / (self.end_epoch - self.start_epoch)
        return self.start + frac * (self.end - self.start)


SCHEDULES = {'constant': ConstantSchedule, 'epoch_over_k': EpochOverKSchedule, 'linear': LinearSchedule,
             'ramp': RampSchedule}


def _number(where: str, key: str, value, positive=False, non_negative=False) -> float:
    minimum = 0 if positive or non_negative else None
    return float(check_number(f'{where}: {key}', value, minimum, strict=positive))


def _check_keys(where: str, spec: Mapping, allowed: Sequence[str]):
    unknown = sorted(set(spec) - set(allowed))
    if unknown:
        raise NASConfigError(f'{where}: unknown option(s) {unknown}; allowed: {sorted(allowed)}')


def build_schedule(spec, where: str = 'schedule') -> Schedule:
    """Schedule from a YAML value: a number (constant) or ``{type: constant|epoch_over_k|linear|ramp, ...}``."""
    if isinstance(spec, (int, float)) and not isinstance(spec, bool):
        return ConstantSchedule(_number(where, 'value', spec))
    if isinstance(spec, Schedule):
        return spec
    if not isinstance(spec, Mapping) or 'type' not in spec:
        raise NASConfigError(f'{where}: expected a number or a mapping with a type, got {spec!r}')
    kind = spec['type']
    if not isinstance(kind, str) or kind not in SCHEDULES:
        raise NASConfigError(f"{where}: unknown schedule type {kind!r}; choose one of {', '.join(SCHEDULES)}")
    fields = dataclasses.fields(SCHEDULES[kind])
    _check_keys(where, spec, ['type', *(f.name for f in fields)])
    values = {f.name: _number(where, f.name, spec.get(f.name, None if f.default is dataclasses.MISSING else f.default),
                              positive=f.name == 'k', non_negative=f.name.endswith('epoch')) for f in fields}
    if kind == 'ramp' and values['end_epoch'] <= values['start_epoch']:
        raise NASConfigError(f"{where}: end_epoch ({values['end_epoch']}) must be > start_epoch "
                             f"({values['start_epoch']})")
    return SCHEDULES[kind](**values)


# ----------------------------------------------------------------------------------------------
# Regulariser objects: a penalty on the model's arch parameters times a scheduled coefficient.

class Regularizer:
    """``reg(model, epoch) = schedule(epoch + first_epoch) * penalty(model)``; model is a ``SupernetMixin``.

    ``epoch`` counts from 0 (the loops' counter); ``first_epoch`` is the number the method's paper
    gives the first epoch.
    """

    name = ''
    default_schedule = None  # a YAML schedule spec, or None = must be given
    default_first_epoch = 0

    def __init__(self, schedule: Schedule, groups: Sequence[str] = ('op',), first_epoch: Optional[int] = None):
        self.schedule = schedule
        self.groups = tuple(groups)
        self.first_epoch = self.default_first_epoch if first_epoch is None else first_epoch

    def alphas(self, model) -> List[torch.Tensor]:
        groups = model.arch_groups()
        tensors = [p for group in self.groups for p in groups.get(group, [])]
        if not tensors:
            raise NASConfigError(f"regulariser '{self.name}': the model has no arch parameters in groups {self.groups}")
        return tensors

    def check(self, model) -> None:
        """Raise a clear error now if this regulariser cannot act on ``model``."""
        self.alphas(model)

    def penalty(self, model) -> torch.Tensor:
        raise NotImplementedError

    def coefficient(self, epoch: float) -> float:
        """The schedule at the 0-based loop epoch ``epoch``, in this method's epoch numbering."""
        return float(self.schedule(epoch + self.first_epoch))

    def __call__(self, model, epoch: float) -> torch.Tensor:
        coefficient = self.coefficient(epoch)
        penalty = self.penalty(model)
        return coefficient * penalty

    def __repr__(self):
        return (f'{type(self).__name__}(schedule={self.schedule!r}, groups={self.groups}, '
                f'first_epoch={self.first_epoch})')


@REGULARIZER_REGISTRY.register()
class SARegularizer(Regularizer):
    name = 'sa'
    default_schedule = {'type': 'epoch_over_k', 'k': 5}  # SA-DARTS: lambda_e = e / 5
    default_first_epoch = 1  # SA-DARTS Algorithm 1: e = 1, ..., E
    params = {'nu': 1.0, 'mu': 0.0}

    def __init__(self, schedule, groups=('op',), nu=1.0, mu=0.0, first_epoch=None):
        super().__init__(schedule, groups, first_epoch)
        self.nu, self.mu = nu, mu

    def penalty(self, model):
        return sa_loss(self.alphas(model), self.nu, self.mu)


@REGULARIZER_REGISTRY.register()
class BetaRegularizer(Regularizer):
    name = 'beta'
    default_schedule = {'type': 'linear', 'start': 0.0, 'slope': 0.5}  # beta-DARTS: 0.5 * epoch
    params = {}

    def penalty(self, model):
        return beta_loss(self.alphas(model))


@REGULARIZER_REGISTRY.register()
class FlopsRegularizer(Regularizer):
    """SA-DARTS Eq. 18 (``weight``/``schedule``), or a Multi-Adds budget (``target``, see the module doc)."""

    name = 'flops'
    params = {'temperature': 1.0}
    optional_params = {'target': None, 'relative': None}

    def __init__(self, schedule, groups=('op',), temperature=1.0, first_epoch=None, target=None, relative=None):
        super().__init__(schedule, groups, first_epoch)
        self.temperature = temperature
        self.target = target
        self.relative = relative
        self.calibrated_weight = None  # set by the architect at each step when ``relative`` is given

    def set_calibrated_weight(self, data_grad_norm: float, own_grad_norm: float) -> float:
        """Weight making this penalty's alpha-gradient norm ``relative`` times the data term's (0 if it has none)."""
        self.calibrated_weight = self.relative * data_grad_norm / own_grad_norm if own_grad_norm > 0 else 0.0
        return self.calibrated_weight

    def coefficient(self, epoch):
        if self.relative is None:
            return super().coefficient(epoch)
        if self.calibrated_weight is None:
            raise RuntimeError("flops regulariser with 'relative': the architect has not calibrated its weight yet")
        return self.calibrated_weight

    def check(self, model):
        if not model.arch_costs():
            raise NASConfigError("regulariser 'flops': the model declares no per-candidate costs "
                                 '(register_arch_parameter(..., costs=...) or set_arch_costs)')

    def penalty(self, model):
        pairs = model.arch_costs()
        self.check(model)
        alphas, costs = [a for a, _ in pairs], [c for _, c in pairs]
        if self.target is None:
            return flops_loss(alphas, costs, self.temperature)
        return torch.relu(cost_fraction(alphas, costs, self.temperature) - self.target) ** 2


@REGULARIZER_REGISTRY.register()
class L2Regularizer(Regularizer):
    name = 'l2'
    params = {}

    def penalty(self, model):
        return l2_loss(self.alphas(model))


REGULARIZERS = REGULARIZER_REGISTRY  # the srnas 0.1 name


def build_regularizer(spec: Mapping, where: str = 'regularizer') -> Regularizer:
    if not isinstance(spec, Mapping):
        raise NASConfigError(f'{where}: expected a mapping with a type, got {spec!r}')
    kind = spec.get('type')
    cls = REGULARIZER_REGISTRY.get(kind, where)
    optional = getattr(cls, 'optional_params', {})
    _check_keys(where, spec, ['type', 'schedule', 'weight', 'groups', 'first_epoch', *cls.params, *optional])
    if 'schedule' in spec and 'weight' in spec:
        raise NASConfigError(f'{where}: give either weight (constant) or schedule, not both')
    extra = {}
    if spec.get('target') is not None:
        target = _number(where, 'target', spec['target'], positive=True)
        if target > 1:
            raise NASConfigError(f'{where}: target is a fraction of the most expensive choice, in (0, 1]; '
                                 f'got {target}')
        extra['target'] = target
    if spec.get('relative') is not None:
        if 'target' in extra or 'weight' in spec or 'schedule' in spec:
            raise NASConfigError(f'{where}: relative sets the weight itself; give no target, weight or schedule')
        extra['relative'] = _number(where, 'relative', spec['relative'], non_negative=True)
    default_schedule = 1.0 if extra else cls.default_schedule
    schedule_spec = spec.get('schedule', spec.get('weight', default_schedule))
    if schedule_spec is None:
        raise NASConfigError(f"{where}: regulariser '{kind}' needs a weight or a schedule")
    schedule = build_schedule(schedule_spec, f'{where}.schedule')
    groups = spec.get('groups', ['op'])
    if isinstance(groups, str):
        groups = [groups]
    if not groups or any(g not in ('op', 'edge') for g in groups):
        raise NASConfigError(f"{where}: groups must be a non-empty list of 'op'/'edge', got {groups!r}")
    params = {key: _number(where, key, spec.get(key, default)) for key, default in cls.params.items()}
    if kind == 'flops' and params['temperature'] <= 0:
        raise NASConfigError(f'{where}: temperature must be > 0')
    first_epoch = spec.get('first_epoch', cls.default_first_epoch)
    if first_epoch not in (0, 1) or isinstance(first_epoch, bool):
        raise NASConfigError(f'{where}: first_epoch must be 0 or 1 (the number of the first epoch), '
                             f'got {first_epoch!r}')
    return cls(schedule, tuple(groups), first_epoch=first_epoch, **params, **extra)


def build_regularizers(specs) -> List[Regularizer]:
    """Regularisers from the YAML list under ``regularizers`` (None or [] = none)."""
    if specs is None:
        return []
    if not isinstance(specs, (list, tuple)):
        raise NASConfigError(f'regularizers: expected a list of mappings, got {specs!r}')
    return [build_regularizer(spec, f'regularizers[{i}]') for i, spec in enumerate(specs)]


def total_regularization(regularizers: Sequence[Regularizer], model, epoch: float):
    """Sum of all regularisers at this epoch (0.0 when there are none)."""
    total = 0.0
    for reg in regularizers:
        total = total + reg(model, epoch)
    return total
