"""The error the NAS core raises for bad configuration or input (one class of ``srnas.errors``)."""
import math

from srnas.errors import NASConfigError

__all__ = ['NASConfigError', 'check_number']


def check_number(label, value, minimum=None, strict=False, allow_none=False):
    """``value`` of option ``label``, checked to be a finite number (``> minimum`` if strict, else ``>=``)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise NASConfigError(f'{label} must be a finite number, got {value!r}')
    if minimum is not None and (value <= minimum if strict else value < minimum):
        raise NASConfigError(f"{label} must be {'>' if strict else '>='} {minimum}, got {value}")
    return value
