"""How alpha moves: one ``Architect`` class along a direction registered in ``ARCHITECT_REGISTRY``
(first-order DARTS, second-order (unrolled) DARTS, A2M)."""
from srnas.nas.architects.a2m import A2M_CENTERS, a2m_direction
from srnas.nas.architects.architect import ARCHITECT_TYPES, Architect, build_architect
from srnas.nas.architects.direction import ARCHITECT_REGISTRY, Direction
from srnas.nas.architects.second_order import unrolled_arch_gradient

__all__ = ['A2M_CENTERS', 'ARCHITECT_REGISTRY', 'ARCHITECT_TYPES', 'Architect', 'Direction', 'a2m_direction',
           'build_architect', 'unrolled_arch_gradient']
