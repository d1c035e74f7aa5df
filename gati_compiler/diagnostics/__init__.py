"""Diagnostics: the registry of codes, the `Diagnostic` value and its renderers."""

from gati_compiler.diagnostics.model import Diagnostic, DiagnosticSink, Severity, Span

__all__ = ["Diagnostic", "DiagnosticSink", "Severity", "Span"]
