"""srnas: differentiable architecture search for lightweight super-resolution.

Importing ``srnas`` is cheap and does not import BasicSR. The NAS core
(``srnas.nas``) is task-agnostic; the BasicSR plug-ins live in
``srnas.archs``, ``srnas.models`` and ``srnas.data`` and are registered by
``srnas.basicsr_compat.register_plugins()``.
"""

__version__ = '0.1.0'
