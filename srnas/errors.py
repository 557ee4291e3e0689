"""The one error hierarchy of srnas and its classification module.

Every error a user can cause (a bad option, file, folder, genotype, data set
or benchmark record) is an ``SRNASError`` whose message names the culprit;
both command lines (``srnas``, ``python -m classification``) catch this one
base class and print its message as a single line with exit code 2, never a
traceback. Subclasses exist only where a caller needs to tell cases apart.
The built-in bases (ValueError, RuntimeError) are kept so that code written
against srnas 0.1 still catches what it caught.
"""


class SRNASError(Exception):
    """Base class: a problem with the user's input; the message names the file, folder or option."""


class InputError(SRNASError, ValueError):
    """A bad option file, option value, folder or image."""


class NASConfigError(InputError):
    """A bad option, value or file given to the NAS core (architect, regularisers, loop)."""


class GenotypeError(InputError):
    """A genotype that does not describe a network of the expected space (SR or classification)."""


class DataError(InputError, RuntimeError):
    """A data set that is missing or malformed."""


class BenchmarkError(InputError, RuntimeError):
    """A benchmark file that is missing, malformed, or lacks the asked record."""
