"""Data errors of the classification module (one class of ``srnas.errors``)."""
from srnas.errors import DataError

__all__ = ['DataError']
