"""Diagnostic values: what every stage reports instead of raising.

Input: nothing (data module). Output: `Span`, `Severity`, `Diagnostic` and the `DiagnosticSink`
that stages append to. Rendering lives in `render.py`; codes live in `codes.py`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from gati_compiler.diagnostics.codes import DiagnosticCode


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Span(BaseModel):
    """A source range: POSIX path relative to the project root, 1-based lines and columns."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str
    line: int
    col: int
    end_line: int
    end_col: int

    @classmethod
    def point(cls, path: str, line: int = 1, col: int = 1) -> Span:
        return cls(path=path, line=line, col=col, end_line=line, end_col=col + 1)


class Diagnostic(BaseModel):
    """One compiler message with a stable code; the message text is not API, the code is."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    name: str
    severity: Severity
    message: str
    span: Span
    notes: tuple[str, ...] = ()
    help: str | None = None
    url: str | None = None

    @property
    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.span.path, self.span.line, self.span.col, self.code)


class DiagnosticSink:
    """Collects diagnostics for one run; stages receive it explicitly."""

    def __init__(self) -> None:
        self._items: list[Diagnostic] = []

    def emit(
        self,
        code: DiagnosticCode,
        message: str,
        span: Span,
        *,
        help: str | None = None,
        notes: tuple[str, ...] = (),
        severity: Severity | None = None,
    ) -> Diagnostic:
        diag = Diagnostic(
            code=code.id,
            name=code.name,
            severity=severity or code.default_severity,
            message=message,
            span=span,
            notes=notes,
            help=help,
            url=code.url,
        )
        self._items.append(diag)
        return diag

    def extend(self, diags: list[Diagnostic] | tuple[Diagnostic, ...]) -> None:
        self._items.extend(diags)

    @property
    def diagnostics(self) -> list[Diagnostic]:
        """Every diagnostic so far, in the stable order `(path, line, col, code)`."""
        return sorted(self._items, key=lambda d: (d.sort_key, d.message))

    @property
    def has_errors(self) -> bool:
        return any(d.severity is Severity.ERROR for d in self._items)
