"""Reporting with anchors: stages after `parse` point at nodes by anchor; this turns them into spans.

Positions are computed only here, on the diagnostic path, once per file that has a diagnostic.
"""

from __future__ import annotations

from collections.abc import Mapping

from gati_compiler.diagnostics.codes import DiagnosticCode
from gati_compiler.diagnostics.model import DiagnosticSink, Severity, Span
from gati_compiler.stages.facts import Anchor
from gati_compiler.stages.positions import Positions, positions, span_at


class Reporter:
    """Emits diagnostics located by `(rel_path, anchor)` into a sink."""

    def __init__(self, sink: DiagnosticSink, texts: Mapping[str, str]) -> None:
        self.sink = sink
        self._texts = texts
        self._seen: set[tuple[str, str, Anchor]] = set()
        # each file is parsed with positions once, however many diagnostics it has
        self._positions: dict[str, Positions | None] = {}

    def span(self, rel_path: str, anchor: Anchor) -> Span:
        text = self._texts.get(rel_path)
        if text is None or not anchor:
            return Span.point(rel_path)
        if rel_path not in self._positions:
            self._positions[rel_path] = positions(text)
        return span_at(self._positions[rel_path], rel_path, anchor)

    def report(
        self,
        code: DiagnosticCode,
        message: str,
        rel_path: str,
        anchor: Anchor,
        *,
        help: str | None = None,
        notes: tuple[str, ...] = (),
        severity: Severity | None = None,
    ) -> None:
        key = (code.id, rel_path, anchor)
        if key in self._seen:
            return  # the same node reached twice (a type used by two handlers) is reported once
        self._seen.add(key)
        self.sink.emit(code, message, self.span(rel_path, anchor), help=help, notes=notes, severity=severity)

    @property
    def has_errors(self) -> bool:
        return self.sink.has_errors
