import subprocess
import sys

from srnas.cli import available_commands, main


def test_unknown_command_is_a_clear_error(capsys):
    assert main(['no-such-command']) == 2
    assert "unknown command 'no-such-command'" in capsys.readouterr().err


def test_help_lists_every_command(capsys):
    assert main(['--help']) == 0
    out = capsys.readouterr().out
    for name in available_commands():
        assert name in out


def test_console_entry_point_runs():
    done = subprocess.run([sys.executable, '-m', 'srnas', '--help'], capture_output=True, text=True)
    assert done.returncode == 0 and 'usage: srnas' in done.stdout
