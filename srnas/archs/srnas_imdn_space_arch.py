"""BasicSR registrations of the IMDN search space: ``SRNASIMDNChild`` and ``SRNASIMDNSupernet``.

YAML::

    network_g: {type: SRNASIMDNChild, genotype: path/to/genotype.json, upscale: 2}
    network_g: {type: SRNASIMDNSupernet, upscale: 2, partial_k: 4}

The registered names are factory functions that import the space lazily, so that importing
``srnas.archs`` (every BasicSR command does) stays cheap.
"""
from srnas.basicsr_compat import import_basicsr

import_basicsr()
from basicsr.utils.registry import ARCH_REGISTRY  # noqa: E402


@ARCH_REGISTRY.register()
def SRNASIMDNChild(**kwargs):  # noqa: N802 (BasicSR registry name)
    """IMDN whose c1..c4 are the genotype's candidates; see srnas.spaces.imdn.IMDNChild."""
    from srnas.spaces.imdn import IMDNChild
    return IMDNChild(**kwargs)


@ARCH_REGISTRY.register()
def SRNASIMDNSupernet(**kwargs):  # noqa: N802
    """IMDN-space search supernet; see srnas.spaces.imdn_supernet.IMDNSupernet."""
    from srnas.spaces.imdn_supernet import IMDNSupernet
    return IMDNSupernet(**kwargs)
