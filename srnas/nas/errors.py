"""The error the NAS core raises for bad configuration or input (one class of ``srnas.errors``)."""
from srnas.errors import NASConfigError

__all__ = ['NASConfigError']
