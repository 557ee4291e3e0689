"""Shared bits of the ``srnas`` sub-commands: one clear error line instead of a traceback for bad input."""
import sys

from srnas.errors import SRNASError


def run_guarded(command, func, *args, **kwargs):
    """Call ``func``; an :class:`SRNASError` becomes ``srnas <command>: error: ...`` on stderr and exit code 2."""
    try:
        result = func(*args, **kwargs)
    except SRNASError as exc:
        print(f'srnas {command}: error: {exc}', file=sys.stderr)
        return 2
    return 0 if result is None or not isinstance(result, int) else result


def command(name, build_parser, run):
    """The ``main(argv)`` of a sub-command: ``run(args)`` on ``build_parser()``'s parse of ``argv``, guarded."""
    return lambda argv: run_guarded(name, run, build_parser().parse_args(argv))
