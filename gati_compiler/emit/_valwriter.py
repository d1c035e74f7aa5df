"""A typed line writer for generated Python, shaped so `ruff format` leaves the output unchanged.

Lines stay under 88 columns where we control them; anything longer is exploded one item per
line with a magic trailing comma, which `ruff format` keeps at every line length.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Final

_SOFT_LIMIT: Final = 84


class CodeWriter:
    """Lines plus an indentation level; `indent()` is a context manager for blocks."""

    def __init__(self, level: int = 0) -> None:
        self.lines: list[str] = []
        self.level = level

    def line(self, text: str) -> None:
        self.lines.append("    " * self.level + text if text else "")

    def long_lines(self) -> list[str]:
        """Lines `ruff format` would rewrap at its default width (a generator bug if any)."""
        return [line for line in self.lines if len(line) > 88]

    @contextmanager
    def indent(self) -> Iterator[None]:
        """Indent a block; a block left empty gets `pass`, so callers never emit bad syntax."""
        self.level += 1
        mark = len(self.lines)
        try:
            yield
            if len(self.lines) == mark:
                self.line("pass")
        finally:
            self.level -= 1

    def fits(self, text: str) -> bool:
        return len(text) + 4 * self.level <= _SOFT_LIMIT

    def call(self, prefix: str, args: Sequence[str], suffix: str = ")") -> None:
        """`prefix` ends with `(`; one line when it fits, else one argument per line."""
        flat = prefix + ", ".join(args) + suffix
        if self.fits(flat) or not args:
            self.line(flat)
            return
        self.line(prefix)
        with self.indent():
            for arg in args:
                self.line(arg + ",")
        self.line(suffix)

    def fail_if(self, conditions: Sequence[str], body: str) -> None:
        """`if a or b or c: <body>`, split into several `if`s so each line fits."""
        group: list[str] = []
        for cond in conditions:
            candidate = [*group, cond]
            if group and not self.fits("if " + " or ".join(candidate) + ":"):
                self._emit_if(group, body)
                group = [cond]
            else:
                group = candidate
        if group:
            self._emit_if(group, body)

    def _emit_if(self, group: Sequence[str], body: str) -> None:
        self.line("if " + " or ".join(group) + ":")
        with self.indent():
            self.line(body)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"
