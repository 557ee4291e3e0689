"""One ``Architect`` for every task: moves alpha along a registered direction (first order, second order, A2M).

Built from the ``architect`` mapping of a YAML file::

    type: a2m                 # a name in ARCHITECT_REGISTRY: first_order | second_order | a2m
    optimizer: {type: adam, lr: 3.0e-4, betas: [0.5, 0.999], weight_decay: 1.0e-3}
    regularizers: [{type: sa}]
    warmup_epochs: 0          # epochs without alpha updates (PC-DARTS: 15)
    grad_clip: null           # max global norm of the alpha gradient
    rho: 1.0e-2               # a2m only (NAS-Bench-201 1e-2, DARTS space 1e-1)
    eps: 1.0e-2               # a2m only
    center: alpha_tilde       # a2m only: alpha_tilde (official code) | alpha (paper)
    xi: null                  # second_order only: unrolling lr, null = weight optimizer lr (its SGD/Adam step)
    fd_scale: 0.01            # second_order only: R = fd_scale / ||grad_w' L_val||
    objective: val            # the loss alpha descends: val (DARTS: L_val) | train_plus_val
                              # (DLSR's search: L_train + L_val, on the same train batch as the weight step)
    step_order: alpha_first   # alpha_first (DARTS) | weights_first (DLSR): read by the search loop

After every update ``last_grad_norms`` holds the global L2 norm of each term of
the alpha direction: ``data`` (the data-loss part), one key per regulariser
(its name: ``sa``, ``beta``, ``flops``, ``l2``) and ``total`` (the direction
the optimizer was given, after ``grad_clip``). A regulariser depends on alpha
only, so its gradient is one cheap autograd call at the current alpha, and
``data`` is the direction minus those gradients: exactly the data term's
gradient for first and second order, and for A2M the part of its direction
that the regularisers' plain gradients do not account for.

The task gives ``loss_fn(model, batch) -> scalar`` (SR: L1 on (LR, HR);
classification: cross-entropy); regularisers are added to the validation loss
in every evaluation the architect makes. ``model`` is a ``SupernetMixin``.
"""
import copy
from typing import Any, Callable, Dict, Mapping, Optional

import torch

from srnas.nas.architects import a2m, first_order, second_order  # noqa: F401  (register the built-in types)
from srnas.nas.architects.direction import ARCHITECT_REGISTRY, number
from srnas.nas.architects.gradients import BufferKeeper, global_norm, grad_wrt, weights_frozen
from srnas.nas.errors import NASConfigError
from srnas.nas.numerics import alpha_fault
from srnas.nas.precision import direction_precision
from srnas.nas.regularizers import build_regularizers, total_regularization

ARCHITECT_TYPES = ARCHITECT_REGISTRY  # the srnas 0.1 name
COMMON_KEYS = ('type', 'optimizer', 'regularizers', 'warmup_epochs', 'grad_clip', 'objective', 'step_order')
OBJECTIVES = ('val', 'train_plus_val')
STEP_ORDERS = ('alpha_first', 'weights_first')
DEFAULT_WEIGHT_DECAY = 1e-3  # DARTS / PC-DARTS / A2M; 0 when an SA regulariser is on (SA-DARTS)


def _build_optimizer(spec, params, sa_on):
    spec = {} if spec is None else spec
    if not isinstance(spec, Mapping):
        raise NASConfigError(f'architect.optimizer must be a mapping, got {spec!r}')
    kind = spec.get('type', 'adam')
    allowed = {'adam': ('type', 'lr', 'betas', 'weight_decay', 'eps'),
               'sgd': ('type', 'lr', 'momentum', 'weight_decay')}
    if not isinstance(kind, str) or kind not in allowed:
        raise NASConfigError(f"architect.optimizer.type must be 'adam' or 'sgd', got {kind!r}")
    unknown = sorted(set(spec) - set(allowed[kind]))
    if unknown:
        raise NASConfigError(f'architect.optimizer: unknown option(s) {unknown}; allowed: {list(allowed[kind])}')
    lr = number('optimizer.lr', spec.get('lr', 3e-4), 0, strict=True)
    weight_decay = number('optimizer.weight_decay',
                          spec.get('weight_decay', 0.0 if sa_on else DEFAULT_WEIGHT_DECAY), 0)
    if kind == 'sgd':
        momentum = number('optimizer.momentum', spec.get('momentum', 0.0), 0)
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    betas = spec.get('betas', (0.5, 0.999))
    if (not isinstance(betas, (list, tuple)) or len(betas) != 2
            or not all(isinstance(b, (int, float)) and 0 <= b < 1 for b in betas)):
        raise NASConfigError(f'architect.optimizer.betas must be two numbers in [0, 1), got {betas!r}')
    eps = number('optimizer.eps', spec.get('eps', 1e-8), 0, strict=True)
    return torch.optim.Adam(params, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay)


class Architect:
    """Updates ``model.arch_parameters()``; see the module docstring for the options."""

    def __init__(self, model, loss_fn: Callable[[Any, Any], torch.Tensor], config: Optional[Mapping] = None,
                 weight_optimizer: Optional[torch.optim.Optimizer] = None):
        if config is not None and not isinstance(config, Mapping):
            raise NASConfigError(f'architect must be a mapping of options, got {config!r}')
        config = dict(config or {})
        self.kind = config.get('type', 'first_order')
        if self.kind not in ARCHITECT_REGISTRY:
            raise NASConfigError(f'architect.type must be one of {list(ARCHITECT_REGISTRY)}, got {self.kind!r}')
        rule = ARCHITECT_REGISTRY.get(self.kind)
        allowed = COMMON_KEYS + tuple(rule.options)
        unknown = sorted(set(config) - set(allowed))
        if unknown:
            other = [k for k in unknown if any(k in ARCHITECT_REGISTRY.get(t).options for t in ARCHITECT_REGISTRY)]
            hint = f' ({other} apply to another architect type)' if other else ''
            raise NASConfigError(f"architect: unknown option(s) {unknown} for type '{self.kind}'{hint}; "
                                 f'allowed: {list(allowed)}')
        self.config = copy.deepcopy(config)
        self.model = model
        self.loss_fn = loss_fn
        self.alphas = list(model.arch_parameters())
        if not self.alphas:
            raise NASConfigError('architect: the model has no architecture parameters (register_arch_parameter)')
        # held like the alphas (and like the weight optimizer holds them): walking the model's modules for
        # them on every step is host time a GPU step waits for
        self.weights = list(model.weights())
        self._buffers = BufferKeeper()
        self.regularizers = build_regularizers(config.get('regularizers'))
        for reg in self.regularizers:
            reg.check(model)
        self.relative_regularizers = [reg for reg in self.regularizers if getattr(reg, 'relative', None) is not None]
        sa_on = any(reg.name == 'sa' for reg in self.regularizers)
        self.optimizer = _build_optimizer(config.get('optimizer'), self.alphas, sa_on)
        self.warmup_epochs = number('warmup_epochs', config.get('warmup_epochs', 0), 0)
        self.grad_clip = number('grad_clip', config.get('grad_clip'), 0, strict=True, allow_none=True)
        self.objective = config.get('objective', 'val')
        if self.objective not in OBJECTIVES:
            raise NASConfigError(f'architect.objective must be one of {OBJECTIVES}, got {self.objective!r}')
        self.step_order = config.get('step_order', 'alpha_first')
        if self.step_order not in STEP_ORDERS:
            raise NASConfigError(f'architect.step_order must be one of {STEP_ORDERS}, got {self.step_order!r}')
        self.weight_optimizer = weight_optimizer
        self.rule = rule(self, **{key: config.get(key, default) for key, default in rule.options.items()})
        self.num_steps = 0
        self.last_grad_norms: Dict[str, float] = {}

    # ------------------------------------------------------------------------------------------
    def regularization(self, epoch: float):
        return total_regularization(self.regularizers, self.model, epoch)

    def regularizer_gradients(self, epoch: float) -> Dict[str, list]:
        """d(coefficient * penalty)/d alpha of each regulariser at the current alpha, keyed by its name
        (a repeated name gets a suffix: sa, sa_2)."""
        grads = {}
        for reg in self.regularizers:
            key, n = reg.name, 2
            while key in grads:
                key, n = f'{reg.name}_{n}', n + 1
            with torch.enable_grad():
                grads[key] = grad_wrt(reg(self.model, epoch), self.alphas, reduce=False)
        return grads

    def _grad_norms(self, direction, epoch: float) -> Dict[str, float]:
        """Per-term norms of ``direction`` (before clipping); see the module docstring."""
        reg_grads = self.regularizer_gradients(epoch)
        data = [d.detach().clone() for d in direction]
        for grads in reg_grads.values():
            data = [d - g.detach() for d, g in zip(data, grads)]
        norms = {'data': float(global_norm(data))}
        norms.update({key: float(global_norm(grads)) for key, grads in reg_grads.items()})
        return norms

    def is_active(self, epoch: float) -> bool:
        """False during the warm-up epochs, when alpha stays frozen."""
        return epoch >= self.warmup_epochs

    def data_loss(self, val_batch, train_batch):
        """The data term alpha descends: L_val, or L_train + L_val (DLSR)."""
        loss = self.loss_fn(self.model, val_batch)
        if self.objective == 'train_plus_val':
            loss = loss + self.loss_fn(self.model, train_batch)
        return loss

    def calibrate(self, data_grads):
        """Give every ``relative`` regulariser its weight from the data term's alpha gradient at this alpha."""
        costed = {id(a) for a, _ in self.model.arch_costs()}
        data_norm = float(global_norm([g for a, g in zip(self.alphas, data_grads) if id(a) in costed]))
        for reg in self.relative_regularizers:
            own = grad_wrt(reg.penalty(self.model), self.alphas, reduce=False)
            reg.set_calibrated_weight(data_norm, float(global_norm(own)))

    def direction(self, val_batch, epoch: float, train_batch=None):
        """The gradient-like direction for alpha (no update); returns (directions, L_val(alpha))."""
        if self.objective == 'train_plus_val' and train_batch is None:
            raise ValueError("architect objective 'train_plus_val' needs train_batch")

        def val_loss():
            return self.data_loss(val_batch, train_batch) + self.regularization(epoch)

        with self._buffers.restored(self.model), direction_precision(self.rule, self.alphas[0].device):
            if self.relative_regularizers and not self.rule.calibrates_itself:  # an extra alpha-only evaluation
                with weights_frozen(self.weights):
                    self.calibrate(grad_wrt(self.data_loss(val_batch, train_batch), self.alphas))
            return self.rule.compute(self, val_loss, val_batch, train_batch, epoch)

    def step(self, val_batch, epoch: float, train_batch=None) -> Dict[str, float]:
        """One alpha update at ``epoch`` (the real epoch counter: it drives warm-up and lambda schedules)."""
        if not self.is_active(epoch):
            self.last_grad_norms = {}
            return {'updated': False}
        grads, loss = self.direction(val_batch, epoch, train_batch)
        fault = alpha_fault(self, grads, loss, epoch)  # one isfinite; the loop applies the nonfinite policy
        if fault is not None:
            self.last_grad_norms = {}
            return {'updated': False, 'nonfinite': fault}
        norms = self._grad_norms(grads, epoch)
        for alpha, grad in zip(self.alphas, grads):
            alpha.grad = grad.detach().clone()
        grad_norm = float(global_norm(grads))
        if self.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(self.alphas, self.grad_clip)
        norms['total'] = float(global_norm([alpha.grad for alpha in self.alphas]))
        self.last_grad_norms = norms
        self.optimizer.step()
        for alpha in self.alphas:
            alpha.grad = None
        self.num_steps += 1
        return {'updated': True, 'val_loss': float(loss), 'alpha_grad_norm': grad_norm}

    # ------------------------------------------------------------------------------------------
    def state_dict(self) -> Dict[str, Any]:
        """Alpha values (by name), the alpha-optimizer state and the step count."""
        return {'type': self.kind,
                'alphas': {name: p.detach().clone() for name, p in self.model.named_arch_parameters()},
                'optimizer': self.optimizer.state_dict(),
                'num_steps': self.num_steps}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        for key in ('alphas', 'optimizer'):
            if key not in state:
                raise NASConfigError(f"architect state has no '{key}' entry (not saved by Architect.state_dict?)")
        current = dict(self.model.named_arch_parameters())
        if set(state['alphas']) != set(current):
            raise NASConfigError(f'architect state holds alphas {sorted(state["alphas"])}, '
                                 f'the model has {sorted(current)}')
        for name, value in state['alphas'].items():
            if value.shape != current[name].shape:
                raise NASConfigError(f"architect state: alpha '{name}' has shape {tuple(value.shape)}, "
                                     f'model expects {tuple(current[name].shape)}')
        with torch.no_grad():
            for name, value in state['alphas'].items():
                current[name].copy_(value)
        self.optimizer.load_state_dict(state['optimizer'])
        self.num_steps = int(state.get('num_steps', 0))


def build_architect(model, loss_fn, config: Optional[Mapping] = None, weight_optimizer=None) -> Architect:
    return Architect(model, loss_fn, config, weight_optimizer)
