"""Everything srnas needs to make basicsr 1.4.2 work with current torchvision.

basicsr 1.4.2 imports ``torchvision.transforms.functional_tensor``, a module
that torchvision removed (it became ``_functional_tensor``). We alias it in
``sys.modules`` before basicsr is imported, never by editing site-packages.
"""
import importlib
import sys


def apply_torchvision_alias():
    """Expose ``torchvision.transforms.functional_tensor`` if torchvision lacks it."""
    name = 'torchvision.transforms.functional_tensor'
    if name in sys.modules:
        return
    try:
        importlib.import_module(name)
    except ImportError:
        sys.modules[name] = importlib.import_module('torchvision.transforms._functional_tensor')


def import_basicsr():
    """Import basicsr with the compatibility alias applied; returns the module."""
    apply_torchvision_alias()
    return importlib.import_module('basicsr')


def register_plugins():
    """Import srnas' archs, models, datasets and losses so that BasicSR's registries know them."""
    import_basicsr()
    importlib.import_module('srnas.archs')
    importlib.import_module('srnas.losses')
    importlib.import_module('srnas.models')
    importlib.import_module('srnas.data')


def import_plugin_modules(package, folder, suffix):
    """Import every ``<name><suffix>.py`` in ``folder`` as ``<package>.<name>`` (BasicSR's auto-import)."""
    import os
    apply_torchvision_alias()
    for file_name in sorted(os.listdir(folder)):
        if file_name.endswith(suffix + '.py'):
            importlib.import_module(f'{package}.{file_name[:-3]}')
