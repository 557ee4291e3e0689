"""Count product code lines: Python lines in srnas/ and classification/ holding code.

Blank lines, comment-only lines and docstrings (the leading string of a module,
class or function) are left out; a line counts when it holds any other token.

    python benchmarks/count_code_lines.py            # the working tree
    python benchmarks/count_code_lines.py --rev 076f447   # a commit (read with git show)
"""
import argparse
import ast
import io
import subprocess
import tokenize

PACKAGES = ('srnas', 'classification')
NOT_CODE = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
            tokenize.ENDMARKER, tokenize.ENCODING}


def docstring_lines(tree):
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                lines.update(range(first.lineno, first.end_lineno + 1))
    return lines


def code_lines(source: str) -> int:
    skip = docstring_lines(ast.parse(source))
    lines = set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type not in NOT_CODE:
            lines.update(n for n in range(tok.start[0], tok.end[0] + 1) if n not in skip)
    return len(lines)


def git(*args):
    return subprocess.run(['git', *args], check=True, capture_output=True, text=True).stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rev', help='count this commit instead of the working tree')
    args = parser.parse_args()
    if args.rev:
        files = [f for f in git('ls-tree', '-r', '--name-only', args.rev, *PACKAGES).split() if f.endswith('.py')]
        read = lambda f: git('show', f'{args.rev}:{f}')  # noqa: E731
    else:
        files = [f for f in git('ls-files', '--cached', '--others', '--exclude-standard', *PACKAGES).split()
                 if f.endswith('.py')]
        read = lambda f: open(f, encoding='utf-8').read()  # noqa: E731
    counts = {pkg: sum(code_lines(read(f)) for f in files if f.startswith(pkg + '/')) for pkg in PACKAGES}
    for pkg, n in counts.items():
        print(f'{pkg}: {n}')
    print(f'total: {sum(counts.values())}')


if __name__ == '__main__':
    main()
