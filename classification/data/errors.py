class DataError(RuntimeError):
    """A data set that is missing or malformed; the message names the path or option at fault."""
