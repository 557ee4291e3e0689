"""How alpha moves: first-order DARTS, second-order (unrolled) DARTS and A2M, one ``Architect`` class."""
from srnas.nas.architects.a2m import A2M_CENTERS, a2m_direction
from srnas.nas.architects.architect import ARCHITECT_TYPES, Architect, build_architect
from srnas.nas.architects.second_order import unrolled_arch_gradient

__all__ = ['A2M_CENTERS', 'ARCHITECT_TYPES', 'Architect', 'a2m_direction', 'build_architect',
           'unrolled_arch_gradient']
