"""Import a generated module statement group by statement group, compiling only the groups that
changed since the last import.

The generated validators module of a large app is megabytes of Python: compiling it whole takes
seconds, while a rebuild usually changes a few of its functions and tables. `ChunkedImporter`
cuts the source at top-level statement boundaries (a line at column 0 that starts a statement),
keeps the code object of every group by its text and, on the next import, compiles only the
groups it has not seen, then runs the groups in order in one module namespace: the same thing
the interpreter does for the whole file, statement by statement.

A cut is only ever trusted when every group compiles on its own: a cut inside a bracket, a
string or a compound statement leaves a group that is no valid Python (an unclosed bracket or
string, a decorator without its function, an `else` without its `if`), and then the whole file
is imported the ordinary way. Code objects carry the file name and line numbers of the file, so
tracebacks point at the generated file as before. Pure standard library; no compiler import.
"""

from __future__ import annotations
import __future__

import functools
import importlib.util
import itertools
import operator
import re
import sys
from pathlib import Path
from types import CodeType, ModuleType
from typing import Final

# a line that may start a top-level statement: a name, a keyword or a decorator at column 0, but
# not one of the keywords that continue the statement above
_START: Final = re.compile(r"^(?!(?:else|elif|except|finally)\b)[A-Za-z_@]", re.MULTILINE)
# the same, found from the newline before it: a search for a literal character skips through a
# megabyte source several times faster than trying `^` at every position
_NEXT_START: Final = re.compile(r"\n(?!(?:else|elif|except|finally)\b)[A-Za-z_@]")
_BLANK: Final = frozenset(" \t\r\n\f")
_FUTURE_MASK: Final = functools.reduce(
    operator.or_, (getattr(__future__, name).compiler_flag for name in __future__.all_feature_names), 0
)
_counter = itertools.count()


def split_statements(source: str) -> list[tuple[int, str]]:
    """The source as (first line number, text) groups, each starting at a line that looks like the
    start of a top-level statement (and does not follow a decorator); the texts joined give back
    `source`."""
    groups: list[tuple[int, str]] = []
    start, line = 0, 1
    for match in _NEXT_START.finditer(source):
        at = match.start() + 1
        end = at - 1
        while end > 0 and source[end] in _BLANK:
            end -= 1
        if source.startswith("@", source.rfind("\n", 0, end + 1) + 1):
            continue  # the line above is a decorator: it and its function are one statement
        groups.append((line, source[start:at]))
        line += source.count("\n", start, at)
        start = at
    groups.append((line, source[start:]))
    return groups


def future_flags(groups: list[tuple[int, str]], filename: str) -> int | None:
    """The compiler flags of the `from __future__ import ...` statements opening the module (after
    its docstring and comments, in the first group); None for one further down (an error the
    ordinary import reports) or one that does not compile."""
    flags = 0
    opening = True
    for i, (_, text) in enumerate(groups):
        if not text.startswith("from __future__"):
            # only a docstring and comments (no statement at column 0) may come before them
            opening = opening and i == 0 and _START.match(text) is None
            continue
        if not opening:
            return None
        try:
            flags |= compile(text, filename, "exec", dont_inherit=True).co_flags & _FUTURE_MASK
        except (SyntaxError, ValueError):
            return None
    return flags


def shift_lines(code: CodeType, delta: int) -> CodeType:
    """`code` and every code object nested in it, moved `delta` lines down the file."""
    if delta == 0:
        return code
    consts = tuple(shift_lines(c, delta) if isinstance(c, CodeType) else c for c in code.co_consts)
    return code.replace(co_firstlineno=code.co_firstlineno + delta, co_consts=consts)


class ChunkedImporter:
    """Imports one generated file again and again (see the module docstring). It remembers the
    code of the groups of the last import only, so memory stays that of one compiled module."""

    def __init__(self) -> None:
        # group text -> (line, its code placed at that line): a group at the same line as in the
        # last import is reused as it is, one that moved is shifted from there
        self._codes: dict[str, tuple[int, CodeType]] = {}
        self.compiled = 0  # groups compiled by the last import (the rest were reused)

    def compile_groups(self, source: str, filename: str) -> list[CodeType] | None:
        """The code of every statement group of `source`, or None when a group does not compile
        on its own (a cut that is no statement boundary, or a file that is no valid Python)."""
        groups = split_statements(source)
        flags = future_flags(groups, filename)
        if flags is None:
            return None
        codes: dict[str, tuple[int, CodeType]] = {}
        out: list[CodeType] = []
        compiled = 0
        for line, text in groups:
            known = codes.get(text) or self._codes.get(text)
            if known is None:
                try:
                    known = (1, compile(text, filename, "exec", flags=flags, dont_inherit=True))
                except (SyntaxError, ValueError):
                    return None
                compiled += 1
            at, code = known
            code = shift_lines(code, line - at)
            codes[text] = (line, code)
            out.append(code)
        self._codes = codes
        self.compiled = compiled
        return out

    def load(self, init: Path, name_prefix: str) -> ModuleType | None:
        """Import the package whose `__init__.py` is `init` under a new private name starting with
        `name_prefix`; None when it must be imported whole (see `compile_groups`). An exception
        raised while the module runs propagates, and the module is not left in `sys.modules`."""
        try:
            source = init.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        codes = self.compile_groups(source, str(init))
        if codes is None:
            return None
        name = f"{name_prefix}{next(_counter)}"
        spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[str(init.parent)])
        if spec is None:  # pragma: no cover - only for non-file paths
            return None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        namespace = module.__dict__
        try:
            for code in codes:
                exec(code, namespace)
        except BaseException:
            sys.modules.pop(name, None)
            raise
        return module
