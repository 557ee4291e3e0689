"""BasicSR registration of IMDN: ``network_g: {type: SRNASIMDN, upscale: 2}``.

The network itself is ``srnas.spaces.imdn_network.IMDNNetwork``; this layer only names it for BasicSR.
"""
from srnas.basicsr_compat import import_basicsr
from srnas.spaces.imdn_network import IMDNNetwork

import_basicsr()
from basicsr.utils.registry import ARCH_REGISTRY  # noqa: E402


@ARCH_REGISTRY.register()
class SRNASIMDN(IMDNNetwork):
    """IMDN (Hui et al. 2019) under its BasicSR name; see ``IMDNNetwork``."""
