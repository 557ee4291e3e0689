"""The one error type the NAS core raises for bad configuration or input."""


class NASConfigError(ValueError):
    """A bad option, value or file given to the NAS core.

    The message names the option (or file) at fault so that command-line
    front ends can print it as a single line instead of a traceback.
    """
