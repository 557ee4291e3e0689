"""Mutations of option mappings and an in-process CLI runner for the fuzz tests (tests.fuzz.fuzz_helpers).

A case is a valid option mapping with one mutation drawn by hypothesis: a key deleted, a value replaced
by one of the wrong type or out of range, an unknown ``type`` name, an extra key, or a value nested
one level too deep (in a list or a mapping) or moved to the top level. The command then either runs
(the mutation was harmless) or stops with exit code 2 and one line naming the file and the option.
"""
import contextlib
import copy
import io
import json
import string
from pathlib import Path

import yaml
from hypothesis import strategies as st

KEY_CHARS = string.ascii_lowercase + '_'
# Values of the wrong type or range: small numbers only, so that a harmless mutation still runs in seconds.
WRONG_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-2, 3),
    st.sampled_from([0.0, -1.5, 1e-9, 7.5, float('nan'), float('inf')]),
    st.text(alphabet=KEY_CHARS + ' .:/-', max_size=6),
    st.lists(st.integers(0, 2), max_size=2),
    st.dictionaries(st.sampled_from(['a', 'type', 'name']), st.integers(0, 2), max_size=2),
)
KINDS = ('delete', 'replace', 'unknown_type', 'extra_key', 'in_list', 'in_mapping', 'to_top_level')


def key_paths(opt, prefix=()):
    """Every path (tuple of keys) to a value inside nested mappings, parents before children."""
    paths = []
    for key, value in opt.items():
        paths.append(prefix + (key,))
        if isinstance(value, dict):
            paths += key_paths(value, prefix + (key,))
    return paths


def _parent(opt, path):
    node = opt
    for key in path[:-1]:
        node = node[key]
    return node


@st.composite
def mutated(draw, base):
    """(mutated copy of ``base``, description, the keys the error should name)."""
    opt = copy.deepcopy(base)
    kind = draw(st.sampled_from(KINDS))
    paths = key_paths(opt)
    typed = [p for p in paths if p[-1] == 'type']
    if kind == 'unknown_type' and typed:
        path = draw(st.sampled_from(typed))
        _parent(opt, path)[path[-1]] = draw(st.text(alphabet=string.ascii_letters, min_size=1, max_size=10))
        return opt, f'{".".join(path)} = unknown type', path
    if kind == 'extra_key':
        holders = [()] + [p for p in paths if isinstance(_parent(opt, p)[p[-1]], dict)]
        path = draw(st.sampled_from(holders))
        holder = _parent(opt, path + ('x',))
        key = draw(st.text(alphabet=KEY_CHARS, min_size=1, max_size=8).filter(lambda k: k not in holder))
        holder[key] = draw(WRONG_VALUES)
        return opt, f'extra key {".".join(path + (key,))}', path + (key,)
    path = draw(st.sampled_from(paths))
    parent, key = _parent(opt, path), path[-1]
    if kind in ('delete', 'unknown_type'):  # unknown_type without a type key: a deletion
        del parent[key]
    elif kind == 'replace':
        parent[key] = draw(WRONG_VALUES)
    elif kind == 'in_list':
        parent[key] = [parent[key]]
    elif kind == 'in_mapping':
        parent[key] = {'value': parent[key]}
    else:  # to_top_level: a nested key written at the top (wrong nesting)
        if len(path) == 1:
            parent[key] = [parent[key]]
        else:
            opt[key] = parent.pop(key)
    return opt, f'{kind} {".".join(str(k) for k in path)}', path


def write_yaml(opt, path):
    path = Path(path)
    path.write_text(yaml.safe_dump(opt, sort_keys=False, allow_unicode=True))
    return path


def write_json(data, path):
    path = Path(path)
    path.write_text(json.dumps(data))
    return path


def run_cli(argv, entry='srnas'):
    """(exit code, stdout, stderr) of a command line run in this process; an uncaught exception propagates."""
    from classification.__main__ import main as classification_main
    from srnas.cli import main as srnas_main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = srnas_main(argv) if entry == 'srnas' else classification_main(argv)
        except SystemExit as exc:  # argparse
            code = exc.code
    return code, out.getvalue(), err.getvalue()


def error_line(code, err, prefix):
    """The one error line of a failed run; asserts the run ended cleanly (exit 0, or 2 with one line)."""
    assert 'Traceback' not in err, err
    assert code in (0, 2), (code, err[-2000:])
    if code == 0:
        return None
    start = err.rfind(prefix)
    assert start >= 0 and (start == 0 or err[start - 1] == '\n'), err[-2000:]
    message = err[start:].rstrip('\n')
    assert '\n' not in message, f'error message spans several lines:\n{message}'
    assert err.count(prefix) == 1, err[-2000:]
    return message


def names_option(message, path):
    """Whether ``message`` names one of the keys on ``path`` (the mutated option or a section holding it)."""
    return any(str(key) in message for key in path)
