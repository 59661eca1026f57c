"""AST compliance check for the anti-patterns of the reference agent platform (DESIGN.md section 6).

Usage: ``python tools/compliance.py [paths...]`` (default: ``observer`` and ``bench``).
Prints one ``path:line: message`` line per violation and exits 1, or prints a one-line
OK summary and exits 0. Ruff's ``banned-api`` already forbids raw tasks and threads
(unsupervised spawning); this script covers what ruff cannot express:

``global`` statements (everywhere)
    A ``global`` rebinding is the Python form of the process dictionary: state that
    lives outside any process, survives restarts and is invisible to the observer.
    State belongs in a process (a ``Server``), where a crash resets it.

Raw sends (outside ``observer/runtime/``)
    ``<anything>.send(...)`` is fire-and-forget: the sender never learns that the
    receiver is dead or slow, which is how the reference platform lost critical
    messages. Outside the runtime core, talk to processes through a ``Server``
    ``call`` (which fails at once if the server dies) or ``cast``. Code that only
    observes may opt out with ``# compliance: allow-send (<reason>)`` on a line of
    the call; the reason is required.

Module-level mutable containers (in ``observer/``)
    A dict, list or set (literal, comprehension or constructor call) bound to a
    module-level name is hidden shared state, exactly like a ``global``. That holds
    for ``UPPER_CASE`` names too: a constant must be immutable (a tuple, a
    frozenset, a ``types.MappingProxyType(...)``, a string, a number). ``__all__``
    and other dunders are exempt.
"""

from __future__ import annotations

import ast
import io
import re
import sys
import tokenize
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATHS = ("observer", "bench")

GLOBAL_MESSAGE = "`global` statement: keep state in a process (a Server), not in module globals"
SEND_MESSAGE = "raw send outside the runtime core: use a Server call/cast"
MUTABLE_MESSAGE = "hidden module-level mutable state"
STATE_HINT = "keep it in a process (a Server)"
CONSTANT_HINT = "make the constant immutable (tuple, frozenset or types.MappingProxyType)"

ALLOW_SEND = re.compile(r"#\s*compliance:\s*allow-send\s*\(\s*\S[^)]*\)")
MUTABLE_FACTORIES = frozenset(
    {
        "dict", "list", "set", "bytearray", "defaultdict", "OrderedDict", "Counter", "deque",
        "WeakValueDictionary", "WeakKeyDictionary", "WeakSet",
    }
)
MUTABLE_LITERALS = (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp)


@dataclass(frozen=True)
class Violation:
    """One broken rule at one place.

    Attributes:
        path: The file, relative to the project root when it is inside it.
        line: The 1-based line number.
        message: What is wrong and what to do instead.
    """

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def check_source(source: str, path: str, *, in_observer: bool, in_runtime: bool) -> list[Violation]:
    """Check one module's source text.

    Args:
        source: The module's source code.
        path: The name to report violations under.
        in_observer: Whether the module belongs to the ``observer`` package (enables the
            module-level mutable state rule).
        in_runtime: Whether the module belongs to ``observer/runtime/`` (allows raw sends).

    Returns:
        The violations, in line order.
    """
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as error:
        return [Violation(path, error.lineno or 1, f"syntax error: {error.msg}")]
    violations = [
        Violation(path, node.lineno, GLOBAL_MESSAGE)
        for node in ast.walk(tree)
        if isinstance(node, ast.Global)
    ]
    if not in_runtime:
        allowed_lines = _allow_send_lines(source)
        violations += [
            Violation(path, call.lineno, SEND_MESSAGE)
            for call in _send_calls(tree)
            if allowed_lines.isdisjoint(range(call.lineno, (call.end_lineno or call.lineno) + 1))
        ]
    if in_observer:
        for name, line in _module_level_mutables(tree.body):
            hint = CONSTANT_HINT if name.isupper() else STATE_HINT
            violations.append(Violation(path, line, f"{MUTABLE_MESSAGE} `{name}`: {hint}"))
    return sorted(violations, key=lambda violation: violation.line)


def check_paths(paths: Iterable[Path], root: Path = ROOT) -> tuple[list[Violation], int]:
    """Check every ``.py`` file at or below the given paths.

    Args:
        paths: Files or directories to check.
        root: The project root: which files belong to ``observer/`` and
            ``observer/runtime/`` is decided relative to it (files outside it by
            their full path).

    Returns:
        The violations and the number of files checked.
    """
    root = root.resolve()
    violations: list[Violation] = []
    files = [file for path in paths for file in ([path] if path.is_file() else sorted(path.rglob("*.py")))]
    for file in files:
        resolved = file.resolve()
        inside = resolved.is_relative_to(root)
        shown = resolved.relative_to(root) if inside else file
        folders = (shown if inside else resolved).parts[:-1]
        violations += check_source(
            file.read_text(encoding="utf-8"),
            shown.as_posix(),
            in_observer="observer" in folders,
            in_runtime=("observer", "runtime") in pairwise(folders),
        )
    return violations, len(files)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the check and print the result.

    Args:
        argv: The paths to check; defaults to ``sys.argv[1:]``, and to ``observer`` and
            ``bench`` under the project root (those that exist) when empty.

    Returns:
        0 when nothing is wrong, 1 when there are violations, 2 for a path that does not exist.
    """
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments:
        paths = [Path(argument) for argument in arguments]
        missing = [str(path) for path in paths if not path.exists()]
        if missing:
            print(f"compliance: no such file or directory: {', '.join(missing)}", file=sys.stderr)
            return 2
    else:
        paths = [ROOT / name for name in DEFAULT_PATHS if (ROOT / name).exists()]
    violations, file_count = check_paths(paths)
    for violation in violations:
        print(violation)
    if violations:
        return 1
    print(f"compliance: OK ({file_count} file{'' if file_count == 1 else 's'} checked)")
    return 0


def _allow_send_lines(source: str) -> set[int]:
    """Return the lines that carry a ``# compliance: allow-send (<reason>)`` comment."""
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return {
        token.start[0]
        for token in tokens
        if token.type == tokenize.COMMENT and ALLOW_SEND.search(token.string)
    }


def _send_calls(tree: ast.Module) -> Iterator[ast.Call]:
    """Yield every call of the form ``<anything>.send(...)``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "send":
            yield node


def _module_level_mutables(body: list[ast.stmt]) -> Iterator[tuple[str, int]]:
    """Yield ``(name, line)`` for module-level names bound to a mutable container.

    Descends into module-level ``if``/``try``/``with`` blocks, not into functions or classes.
    """
    for statement in body:
        if isinstance(statement, ast.Assign):
            for target in statement.targets:
                yield from _mutable_bindings(target, statement.value)
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            yield from _mutable_bindings(statement.target, statement.value)
        for block in _nested_blocks(statement):
            yield from _module_level_mutables(block)


def _nested_blocks(statement: ast.stmt) -> list[list[ast.stmt]]:
    """Return the statement blocks of a module-level ``if``, ``with`` or ``try``."""
    if isinstance(statement, ast.If):
        return [statement.body, statement.orelse]
    if isinstance(statement, ast.With):
        return [statement.body]
    if isinstance(statement, ast.Try | ast.TryStar):
        handler_bodies = [handler.body for handler in statement.handlers]
        return [statement.body, *handler_bodies, statement.orelse, statement.finalbody]
    return []


def _mutable_bindings(target: ast.expr, value: ast.expr) -> Iterator[tuple[str, int]]:
    """Yield the names in ``target`` that ``value`` binds to a mutable container."""
    if isinstance(target, ast.Tuple | ast.List) and isinstance(value, ast.Tuple | ast.List):
        for target_element, value_element in zip(target.elts, value.elts, strict=False):
            yield from _mutable_bindings(target_element, value_element)
    elif isinstance(target, ast.Name) and not _is_dunder(target.id) and _is_mutable_container(value):
        yield target.id, target.lineno


def _is_mutable_container(value: ast.expr) -> bool:
    """Whether ``value`` builds a dict, list, set or another mutable collection."""
    if isinstance(value, MUTABLE_LITERALS):
        return True
    if isinstance(value, ast.Call):
        function = value.func
        if isinstance(function, ast.Attribute):
            return function.attr in MUTABLE_FACTORIES
        return isinstance(function, ast.Name) and function.id in MUTABLE_FACTORIES
    return False


def _is_dunder(name: str) -> bool:
    """Whether ``name`` is a dunder such as ``__all__``."""
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


if __name__ == "__main__":
    sys.exit(main())
