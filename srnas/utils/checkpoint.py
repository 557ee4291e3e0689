"""Building networks from option dicts and loading weights from any of the usual checkpoint shapes."""
from pathlib import Path

import torch

from srnas.utils.errors import InputError


def build_network(net_opt):
    """Instantiate ``net_opt = {'type': <ARCH_REGISTRY name>, **kwargs}``."""
    from srnas.basicsr_compat import register_plugins
    register_plugins()
    from basicsr.utils.registry import ARCH_REGISTRY
    net_opt = dict(net_opt)
    arch_type = net_opt.pop('type', None)
    if arch_type not in ARCH_REGISTRY:
        raise InputError(f"unknown network type {arch_type!r}")
    return ARCH_REGISTRY.get(arch_type)(**net_opt)


def read_state_dict(path, param_key='params'):
    """State dict from a BasicSR checkpoint (``params_ema``/``params``), a bare state dict or official IMDN weights.

    ``module.`` prefixes are removed; official IMDN keys are mapped onto SRNASIMDN's.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f'checkpoint not found: {path}')
    try:
        checkpoint = torch.load(path, map_location='cpu')
    except Exception as exc:
        raise InputError(f'cannot load checkpoint {path}: {exc}') from None
    if not isinstance(checkpoint, dict):
        raise InputError(f'checkpoint {path} does not hold a state dict')
    for key in (param_key, 'params_ema', 'params', 'state_dict', 'model'):
        if key and isinstance(checkpoint.get(key), dict):
            checkpoint = checkpoint[key]
            break
    state = {(k[len('module.'):] if k.startswith('module.') else k): v for k, v in checkpoint.items()}
    from srnas.spaces.imdn_network import convert_official_imdn_state_dict, is_official_imdn_state_dict
    if is_official_imdn_state_dict(state):
        state = convert_official_imdn_state_dict(state)
    return state


def describe_mismatch(net, state):
    """Short text: how many keys are missing/unexpected and the first shape mismatch (or '')."""
    own = net.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [f'{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(v.shape)}'
              for k, v in own.items() if k in state and hasattr(state[k], 'shape') and state[k].shape != v.shape]
    return '; '.join(f'{len(items)} {label} (first: {items[0]})' for label, items in (
        ('missing key(s)', missing), ('unexpected key(s)', unexpected), ('shape mismatch(es)', shapes)) if items)


def load_weights(net, path, param_key='params', strict=True):
    """Load ``path`` into ``net``; InputError naming the file when keys or shapes do not match."""
    state = read_state_dict(path, param_key)
    problem = describe_mismatch(net, state)
    if problem and (strict or 'shape' in problem):
        raise InputError(f'checkpoint {path} does not fit {type(net).__name__} as configured: {problem} '
                         '(check network_g / --arch arguments)')
    net.load_state_dict(state, strict=strict)
    return net
