"""Shared bits of the ``srnas`` sub-commands: one clear error line instead of a traceback for bad input."""
import sys

from srnas.errors import SRNASError


def error_line(exc, option_file=None):
    """The message of ``exc`` on one line, naming ``option_file`` when the message does not already."""
    message = ' '.join(str(exc).split())  # YAML parser and library messages span several lines
    if option_file and str(option_file) not in message:
        message = f'{option_file}: {message}'
    return message


def run_guarded(command, func, *args, option_file=None, **kwargs):
    """Call ``func``; an :class:`SRNASError` becomes ``srnas <command>: error: ...`` on stderr and exit code 2.

    ``option_file``: the file the command reads (``-opt``, ``-g``), named in the message if it is not yet.
    """
    try:
        result = func(*args, **kwargs)
    except SRNASError as exc:
        print(f'srnas {command}: error: {error_line(exc, option_file)}', file=sys.stderr)
        return 2
    return 0 if result is None or not isinstance(result, int) else result


def command(name, build_parser, run):
    """The ``main(argv)`` of a sub-command: ``run(args)`` on ``build_parser()``'s parse of ``argv``, guarded;
    errors name the command's option file (``-opt``) or genotype file when they do not already."""
    def main(argv):
        args = build_parser().parse_args(argv)
        return run_guarded(name, run, args, option_file=getattr(args, 'opt', None) or getattr(args, 'genotype', None))
    return main
