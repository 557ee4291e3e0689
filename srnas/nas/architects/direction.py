"""What an architect direction is: how alpha's update direction is computed, registered by its ``type``.

A direction is a ``Direction`` subclass registered in ``ARCHITECT_REGISTRY``:
``options`` names its own keys of the ``architect`` mapping with their
defaults, ``__init__(architect, **options)`` checks them (and the architect's
other settings it depends on), and
``compute(architect, val_loss, val_batch, train_batch, epoch)`` returns
``(directions, L_val(alpha))``. ``val_loss()`` evaluates the data term plus the
regularisers at the current alpha and weights. Everything else (optimizer step,
clipping, warm-up, regularisers, resume state, gradient norms) is the
``Architect``'s, shared by every direction. See docs/extending.md.
"""
from typing import Any, Dict

from srnas.nas.errors import check_number
from srnas.nas.registry import ARCHITECT_REGISTRY  # noqa: F401  (directions register here)


def number(key, value, minimum=None, strict=False, allow_none=False):
    """``value`` of ``architect.<key>``, checked to be a finite number (above ``minimum``)."""
    return check_number(f'architect.{key}', value, minimum, strict, allow_none)


class Direction:
    name = ''
    options: Dict[str, Any] = {}  # option -> default
    calibrates_itself = False  # True: compute() gives ``relative`` regularisers their weight itself

    def __init__(self, architect, **options):
        for key, value in options.items():
            setattr(self, key, value)

    def compute(self, architect, val_loss, val_batch, train_batch, epoch):
        raise NotImplementedError
