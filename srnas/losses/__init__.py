"""BasicSR plug-ins: every `*_loss.py` file here is imported so that it registers itself."""
from os import path as osp

from srnas.basicsr_compat import import_plugin_modules

import_plugin_modules(__name__, osp.dirname(osp.abspath(__file__)), '_loss')
