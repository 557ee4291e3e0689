"""Registries: a search space, an architect direction or a regulariser is added by registering it, nowhere else.

``Registry`` maps a name to an object and is filled by ``register`` (usable as
a decorator); looking up an unknown name is one ``NASConfigError`` that lists
the known names. Three registries serve every task:

* ``SPACE_REGISTRY``: ``SearchSpace`` records (name -> genotype validation, child network);
* ``ARCHITECT_REGISTRY``: ``Direction`` classes (``type:`` of the ``architect`` mapping);
* ``REGULARIZER_REGISTRY``: regulariser classes (``type:`` of an entry under ``regularizers``).

How to add to each: docs/extending.md.
"""
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, Optional

from srnas.nas.errors import NASConfigError


class Registry:
    """Name -> object, for one kind of thing (``what`` names it in error messages)."""

    def __init__(self, what: str):
        self.what = what
        self._items: Dict[str, Any] = {}

    def register(self, obj=None, name: Optional[str] = None):
        """``REGISTRY.register(obj)``, or ``@REGISTRY.register(name=...)`` / ``@REGISTRY.register()`` on a def."""
        def add(item):
            key = name or getattr(item, 'name', None) or item.__name__
            if key in self._items and self._items[key] is not item:
                raise NASConfigError(f"{self.what} '{key}' is already registered")
            self._items[key] = item
            return item
        return add if obj is None else add(obj)

    def get(self, name: str, where: str = ''):
        if name not in self:
            prefix = f'{where}: ' if where else ''
            raise NASConfigError(f'{prefix}unknown {self.what} {name!r}; choose one of {sorted(self._items)}')
        return self._items[name]

    def __contains__(self, name) -> bool:
        return isinstance(name, str) and name in self._items  # a list or mapping from a bad file is no name

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._items))

    def __len__(self) -> int:
        return len(self._items)


@dataclass(frozen=True)
class SearchSpace:
    """What the task-agnostic code needs to know of a space.

    ``validate(genotype, source)`` returns the clean genotype (its JSON form) or
    raises ``GenotypeError`` naming ``source``; ``child_type`` is the BasicSR
    arch name of the derived network (SR spaces: ``srnas derive`` / ``export``)
    and ``default_width`` its paper channel count.
    """
    name: str
    validate: Callable[[Any, str], Any]
    child_type: Optional[str] = None
    default_width: Optional[int] = None


SPACE_REGISTRY = Registry('search space')
ARCHITECT_REGISTRY = Registry('architect type')
REGULARIZER_REGISTRY = Registry('regulariser type')
