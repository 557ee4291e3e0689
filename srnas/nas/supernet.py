"""Architecture parameters of a supernet, kept apart from its weights.

Mix ``SupernetMixin`` into an ``nn.Module`` and call
``register_arch_parameter`` for every alpha/beta tensor. They become real
``nn.Parameter``s (saved in ``state_dict`` and moved by ``.to()``), but
``weights()`` leaves them out, so the weight optimizer never sees them, while
``arch_parameters()`` gives exactly them to the architect.

Each arch parameter belongs to a *group*: ``'op'`` for op-choice alphas (one
row per mixed op / edge, one column per candidate; what SA, beta and L2 act
on) and ``'edge'`` for edge-normalisation / connection weights (DLSR betas,
PC-DARTS edge betas). Op alphas may carry per-candidate ``costs`` of the same
shape for the FLOPs loss, and ``op_names`` for genotypes and plots.
"""
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from srnas.nas.errors import NASConfigError

ARCH_GROUPS = ('op', 'edge')


@dataclass
class ArchParamInfo:
    group: str
    op_names: Optional[List[str]] = None


class SupernetMixin:
    """Mixin for ``nn.Module`` supernets; call the methods after ``nn.Module.__init__``."""

    def _arch_registry(self) -> Dict[str, ArchParamInfo]:
        return self.__dict__.setdefault('_arch_info', {})

    def register_arch_parameter(self, name: str, tensor: torch.Tensor, group: str = 'op',
                                costs: Optional[torch.Tensor] = None,
                                op_names: Optional[Sequence[str]] = None) -> nn.Parameter:
        """Register ``tensor`` as an architecture parameter and return the ``nn.Parameter``."""
        if group not in ARCH_GROUPS:
            raise NASConfigError(f"arch parameter '{name}': group must be one of {ARCH_GROUPS}, got {group!r}")
        if op_names is not None and len(op_names) != tensor.shape[-1]:
            raise NASConfigError(f"arch parameter '{name}': {len(op_names)} op names for last axis of size "
                                 f'{tensor.shape[-1]}')
        param = tensor if isinstance(tensor, nn.Parameter) else nn.Parameter(tensor.detach().clone())
        self.register_parameter(name, param)
        self._arch_registry()[name] = ArchParamInfo(group, list(op_names) if op_names is not None else None)
        if costs is not None:
            self.set_arch_costs(name, costs)
        return param

    def set_arch_costs(self, name: str, costs) -> None:
        """Per-candidate costs (e.g. Multi-Adds) of op alpha ``name``, same shape as the alpha."""
        if name not in self._arch_registry():
            raise NASConfigError(f"set_arch_costs: '{name}' is not a registered arch parameter")
        alpha = getattr(self, name)
        costs = torch.as_tensor(costs, dtype=alpha.dtype, device=alpha.device).detach().clone()
        if costs.shape != alpha.shape:
            raise NASConfigError(f"costs for arch parameter '{name}' have shape {tuple(costs.shape)}, "
                                 f'expected {tuple(alpha.shape)}')
        if (costs < 0).any():
            raise NASConfigError(f"costs for arch parameter '{name}' must be >= 0")
        # Not persistent: costs are derived from the space, not learned state.
        self.register_buffer(f'_arch_costs_{name}', costs, persistent=False)

    def _arch_modules(self) -> Iterator[Tuple[str, 'SupernetMixin']]:
        for prefix, module in self.named_modules():
            if isinstance(module, SupernetMixin) and module._arch_registry():
                yield prefix, module

    def named_arch_parameters(self) -> Iterator[Tuple[str, nn.Parameter]]:
        for prefix, module in self._arch_modules():
            for name in module._arch_registry():
                yield (f'{prefix}.{name}' if prefix else name), getattr(module, name)

    def arch_parameters(self) -> List[nn.Parameter]:
        return [param for _, param in self.named_arch_parameters()]

    def named_weights(self) -> Iterator[Tuple[str, nn.Parameter]]:
        arch_ids = {id(p) for p in self.arch_parameters()}
        for name, param in self.named_parameters():
            if id(param) not in arch_ids:
                yield name, param

    def weights(self) -> List[nn.Parameter]:
        """All parameters except the architecture ones: give these to the weight optimizer."""
        return [param for _, param in self.named_weights()]

    def arch_info(self) -> Dict[str, ArchParamInfo]:
        return {(f'{prefix}.{name}' if prefix else name): item
                for prefix, module in self._arch_modules() for name, item in module._arch_registry().items()}

    def arch_groups(self) -> Dict[str, List[nn.Parameter]]:
        """Arch parameters by group: ``{'op': [...], 'edge': [...]}`` (empty lists included)."""
        groups = {group: [] for group in ARCH_GROUPS}
        info = self.arch_info()
        for name, param in self.named_arch_parameters():
            groups[info[name].group].append(param)
        return groups

    def arch_costs(self) -> List[Tuple[nn.Parameter, torch.Tensor]]:
        """``(alpha, costs)`` pairs for every op alpha that declared costs."""
        return [(getattr(module, name), getattr(module, f'_arch_costs_{name}'))
                for _, module in self._arch_modules() for name in module._arch_registry()
                if getattr(module, f'_arch_costs_{name}', None) is not None]

    def arch_op_names(self) -> Dict[str, Optional[List[str]]]:
        return {name: item.op_names for name, item in self.arch_info().items()}
