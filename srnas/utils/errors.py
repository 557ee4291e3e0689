"""Bad user input: the CLI prints its message, never a traceback (one class of ``srnas.errors``)."""
from srnas.errors import InputError, SRNASError

__all__ = ['InputError', 'SRNASError']
