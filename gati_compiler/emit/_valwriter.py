"""A typed line writer for generated Python, shaped so `ruff format` leaves the output unchanged.

Lines stay under 88 columns where we control them; anything longer is exploded one item per
line with a magic trailing comma, which `ruff format` keeps at every line length.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Final

_SOFT_LIMIT: Final = 84


class CodeWriter:
    """Lines plus an indentation level; `indent()` is a context manager for blocks."""

    def __init__(self, level: int = 0) -> None:
        self.lines: list[str] = []
        self.level = level
        self._pad = "    " * level
        self._indent = _Indent(self)

    def line(self, text: str) -> None:
        self.lines.append(self._pad + text if text else "")

    def long_lines(self) -> list[str]:
        """Lines `ruff format` would rewrap at its default width (a generator bug if any)."""
        return [line for line in self.lines if len(line) > 88]

    def indent(self) -> _Indent:
        """Indent a block; a block left empty gets `pass`, so callers never emit bad syntax."""
        return self._indent

    def fits(self, text: str) -> bool:
        return len(text) + len(self._pad) <= _SOFT_LIMIT

    def call(self, prefix: str, args: Sequence[str], suffix: str = ")") -> None:
        """`prefix` ends with `(`; one line when it fits, else one argument per line."""
        flat = prefix + ", ".join(args) + suffix
        if len(flat) + len(self._pad) <= _SOFT_LIMIT or not args:
            self.lines.append(self._pad + flat)
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


class _Indent:
    """The context manager behind `CodeWriter.indent` (a plain class: it is entered very often)."""

    __slots__ = ("marks", "writer")

    def __init__(self, writer: CodeWriter) -> None:
        self.writer = writer
        self.marks: list[int] = []

    def __enter__(self) -> None:
        writer = self.writer
        writer.level += 1
        writer._pad += "    "
        self.marks.append(len(writer.lines))

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        writer = self.writer
        mark = self.marks.pop()
        if exc_type is None and len(writer.lines) == mark:
            writer.line("pass")
        writer.level -= 1
        writer._pad = writer._pad[4:]
