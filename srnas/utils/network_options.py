"""The network a command works on, named either by an option file (``-opt``) or by ``--arch`` + ``--scale``."""
from srnas.utils.errors import InputError


def network_options(opt_path, arch, scale):
    """(network_g dict, scale, whole option dict or {}) with ``upscale`` set to the chosen scale."""
    if opt_path:
        from srnas.utils.options import read_yaml
        opt = read_yaml(opt_path)
        if not isinstance(opt.get('network_g'), dict):
            raise InputError(f"{opt_path}: option 'network_g': missing")
        net_opt = dict(opt['network_g'])
        scale = scale or opt.get('scale') or net_opt.get('upscale')
    else:
        opt = {}
        net_opt = {'type': arch, 'upscale': scale}
    if not scale:
        raise InputError('--scale is required (or give -opt with scale)')
    if 'upscale' in net_opt:
        net_opt['upscale'] = scale
    return net_opt, scale, opt


def build_checked_network(net_opt):
    """The registered network for ``net_opt``; wrong constructor arguments become one clear error."""
    from srnas.utils.checkpoint import build_network
    try:
        return build_network(net_opt)
    except TypeError as exc:
        raise InputError(f'cannot build {net_opt.get("type")}: {exc}') from None
