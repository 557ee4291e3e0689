"""The ``srnas`` command: ``srnas <command> [options]``.

Each command lives in its own module ``srnas/commands/<command>.py`` that
defines ``HELP`` (one line) and ``main(argv)``; the dispatcher finds them by
file name, so adding a command never touches this file.
"""
import importlib
import pkgutil
import sys

import srnas.commands


def available_commands():
    """Map command name -> module name for every module in srnas.commands."""
    return {
        info.name.replace('_', '-'): f'srnas.commands.{info.name}'
        for info in pkgutil.iter_modules(srnas.commands.__path__) if not info.name.startswith('_')
    }


def _usage(commands):
    lines = ['usage: srnas <command> [options]', '', 'commands:']
    for name, module_name in sorted(commands.items()):
        module = importlib.import_module(module_name)
        lines.append(f'  {name:<12} {getattr(module, "HELP", "")}')
    lines.append('')
    lines.append("Run 'srnas <command> -h' for the options of one command.")
    return '\n'.join(lines)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = available_commands()
    if not argv or argv[0] in ('-h', '--help'):
        print(_usage(commands))
        return 0
    name, rest = argv[0], argv[1:]
    if name not in commands:
        print(f"srnas: unknown command '{name}'. Known commands: {', '.join(sorted(commands))}", file=sys.stderr)
        return 2
    module = importlib.import_module(commands[name])
    result = module.main(rest)
    return 0 if result is None else int(result)


if __name__ == '__main__':
    sys.exit(main())
