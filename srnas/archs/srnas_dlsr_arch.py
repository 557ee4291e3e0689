"""BasicSR registrations of the DLSR space: ``SRNASDLSRChild`` (from a genotype) and ``SRNASDLSRSupernet``.

YAML::

    network_g: {type: SRNASDLSRChild, genotype: path/to/genotype.json, upscale: 2}
    network_g: {type: SRNASDLSRSupernet, upscale: 2, partial_k: 4}

Factory functions with lazy imports, like the IMDN-space file, so that the
spaces can import ``srnas.archs`` modules without a cycle.
"""
from srnas.basicsr_compat import import_basicsr

import_basicsr()
from basicsr.utils.registry import ARCH_REGISTRY  # noqa: E402


@ARCH_REGISTRY.register()
def SRNASDLSRChild(**kwargs):  # noqa: N802 (BasicSR registry name)
    """DLSR network from ``genotype`` (dict or JSON/YAML file); see srnas.spaces.dlsr.DLSRChild."""
    from srnas.spaces.dlsr import DLSRChild
    return DLSRChild(**kwargs)


@ARCH_REGISTRY.register()
def SRNASDLSRSupernet(**kwargs):  # noqa: N802
    """DLSR search supernet (alpha 3x9 shared by all cells, betas 2..5); partial_k > 1 for SAC."""
    from srnas.spaces.dlsr_supernet import DLSRSupernet
    return DLSRSupernet(**kwargs)
