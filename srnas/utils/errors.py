"""One exception type for bad user input: the CLI prints its message, never a traceback."""


class InputError(Exception):
    """Raised for a bad file, folder or option; the message names the culprit."""
