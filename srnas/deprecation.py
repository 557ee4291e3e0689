"""Old spellings of flags and options: accepted for one release, with one message on stderr each."""
import sys

_said = set()


def warn_deprecated(old: str, new: str, where: str = '') -> None:
    """Tell the user once that ``old`` is deprecated and ``new`` replaces it (srnas 0.1 -> 0.2 convention)."""
    message = f"{where + ': ' if where else ''}{old} is deprecated, use {new} (still accepted in this release)"
    if message not in _said:
        _said.add(message)
        print(f'warning: {message}', file=sys.stderr)
