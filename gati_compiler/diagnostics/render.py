"""Renderers: one pure function per output format, `diagnostics -> str`.

Input: diagnostics (and, for text, the source texts by relative path). Output: the text of one
report. Nothing here reads files, looks at the terminal or the environment; the CLI decides
whether to colour and passes `color=True`.
"""

from __future__ import annotations

import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

import click
from pydantic import JsonValue

from gati_compiler.canonical import canonical_json
from gati_compiler.diagnostics.codes import REGISTRY
from gati_compiler.diagnostics.model import Diagnostic, Severity

JSON_VERSION: Final = 1
TAB_SIZE: Final = 4
SARIF_SCHEMA: Final = "https://json.schemastore.org/sarif-2.1.0.json"
_COLORS: Final = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "blue"}
_NOUNS: Final = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "info message"}


def _sorted(diags: Iterable[Diagnostic]) -> list[Diagnostic]:
    return sorted(diags, key=lambda d: (d.sort_key, d.message))


# --- text --------------------------------------------------------------------------------------


def _char_width(ch: str) -> int:
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _width(text: str) -> int:
    return sum(_char_width(ch) for ch in text)


def _frame_line(lines: Sequence[str], diag: Diagnostic) -> tuple[int, str, int, int] | None:
    """The line to show (number, text with tabs expanded) and the underline's display columns."""
    span = diag.span
    if not 1 <= span.line <= len(lines):
        return None
    number = span.line
    raw = lines[number - 1]
    if raw.strip():
        start_col = span.col
        end_col = span.end_col if span.end_line == span.line else len(raw) + 1
    else:
        # a blank line shows nothing useful: point just past the nearest non-blank line above
        while number > 1 and not lines[number - 1].strip():
            number -= 1
        raw = lines[number - 1]
        if not raw.strip():
            return None
        start_col = end_col = len(raw) + 1
    start_col = max(1, min(start_col, len(raw) + 1))
    end_col = max(start_col + 1, min(end_col, len(raw) + 1))
    start = _width(raw[: start_col - 1].expandtabs(TAB_SIZE))
    # expand tabs on the whole prefix so a tab inside the span keeps its on-screen width
    end = _width(raw[: end_col - 1].expandtabs(TAB_SIZE))
    return number, raw.expandtabs(TAB_SIZE), start, max(end, start + 1)


def _split_lines(text: str) -> list[str]:
    return [line.removesuffix("\r") for line in text.split("\n")]


def render_text(diags: Iterable[Diagnostic], sources: Mapping[str, str], *, color: bool = False) -> str:
    """Render diagnostics like ruff and LibCST: header, numbered source frame, underline, notes.

    `sources` maps the relative paths of spans to file text; a missing path gives no frame.
    Ends with a summary line (`Found 2 errors and 1 warning.`).
    """

    def style(text: str, **kwargs: str | bool) -> str:
        return click.style(text, **kwargs) if color else text  # type: ignore[arg-type]

    items = _sorted(diags)
    split_cache: dict[str, list[str]] = {}
    blocks: list[str] = []
    for diag in items:
        span = diag.span
        tint = _COLORS[diag.severity]
        head = (
            f"{style(f'{span.path}:{span.line}:{span.col}:', bold=True)} "
            f"{style(f'{diag.severity.value}[{diag.code}]', fg=tint, bold=True)} {diag.message}"
        )
        out = [head]
        frame = None
        if span.path in sources:
            lines = split_cache.setdefault(span.path, _split_lines(sources[span.path]))
            frame = _frame_line(lines, diag)
        gutter = len(str(frame[0])) if frame else 1
        pad = " " * (gutter + 1)
        bar = style("|", fg="blue", bold=True)
        if frame is not None:
            number, text, start, end = frame
            out.append(f"{pad}{bar}")
            out.append(f"{style(str(number).rjust(gutter), fg='blue', bold=True)} {bar} {text}".rstrip())
            out.append(f"{pad}{bar} {' ' * start}{style('^' * (end - start), fg=tint, bold=True)}")
            if diag.notes or diag.help:
                out.append(f"{pad}{bar}")
        for note in diag.notes:
            out.append(f"{pad}= {style('note', bold=True)}: {note}")
        if diag.help:
            out.append(f"{pad}= {style('help', fg='cyan', bold=True)}: {diag.help}")
        blocks.append("\n".join(out) + "\n")
    blocks.append(summary_line(items) + "\n")
    return "\n".join(blocks)


def summary_line(diags: Iterable[Diagnostic]) -> str:
    """`Found 2 errors and 1 warning.`, or `No problems found.`"""
    counts = {sev: 0 for sev in Severity}
    for diag in diags:
        counts[diag.severity] += 1
    parts = [f"{n} {_NOUNS[sev]}{'' if n == 1 else 's'}" for sev, n in counts.items() if n]
    if not parts:
        return "No problems found."
    joined = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"Found {joined}."


# --- json --------------------------------------------------------------------------------------


def _json_item(diag: Diagnostic) -> dict[str, JsonValue]:
    span = diag.span
    return {
        "code": diag.code,
        "name": diag.name,
        "severity": diag.severity.value,
        "message": diag.message,
        "path": span.path,
        "start": {"line": span.line, "col": span.col},
        "end": {"line": span.end_line, "col": span.end_col},
        "notes": list(diag.notes),
        "help": diag.help,
        "url": diag.url,
        "helpUri": diag.url,
    }


def render_json(diags: Iterable[Diagnostic]) -> str:
    """`{"version": 1, "diagnostics": [...]}`, sorted by `(path, line, col, code)`, keys sorted.

    Positions are 1-based; `end` is exclusive (the column just past the span).
    """
    return canonical_json({"version": JSON_VERSION, "diagnostics": [_json_item(d) for d in _sorted(diags)]})


# --- github ------------------------------------------------------------------------------------


def _gh_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_property(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


_GH_LEVEL: Final = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def render_github(diags: Iterable[Diagnostic]) -> str:
    """GitHub Actions workflow commands, one `::error file=..,line=..::message` line each.

    `endColumn` is inclusive there, so it is our exclusive end minus one. Notes and help follow
    the message on their own lines (escaped as `%0A`).
    """
    out: list[str] = []
    for diag in _sorted(diags):
        span = diag.span
        end_col = max(span.end_col - 1, span.col if span.end_line == span.line else 1)
        props = ",".join(
            [
                f"file={_gh_property(span.path)}",
                f"line={span.line}",
                f"col={span.col}",
                f"endLine={span.end_line}",
                f"endColumn={end_col}",
                f"title={_gh_property(diag.code)}",
            ]
        )
        message = "\n".join([diag.message, *(f"note: {n}" for n in diag.notes)])
        if diag.help:
            message += f"\nhelp: {diag.help}"
        out.append(f"::{_GH_LEVEL[diag.severity]} {props}::{_gh_data(message)}\n")
    return "".join(out)


# --- sarif -------------------------------------------------------------------------------------

_SARIF_LEVEL: Final = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def render_sarif(diags: Iterable[Diagnostic], tool_version: str) -> str:
    """A SARIF 2.1.0 log with one run; every registered code is a rule.

    Columns count Unicode code points (`columnKind`); `endColumn` is exclusive, as SARIF says.
    """
    rule_ids = sorted(REGISTRY)
    rules: list[JsonValue] = []
    for rule_id in rule_ids:
        code = REGISTRY[rule_id]
        rule: dict[str, JsonValue] = {
            "id": code.id,
            "name": code.name,
            "shortDescription": {"text": code.summary},
            "defaultConfiguration": {"level": _SARIF_LEVEL[code.default_severity]},
            "properties": {"retired": code.retired, "docs": code.url},
        }
        rule["helpUri"] = code.url  # absolute (`codes.DOCS_URL`), as SARIF requires
        rules.append(rule)
    results: list[JsonValue] = []
    for diag in _sorted(diags):
        span = diag.span
        text = diag.message + (f"\nhelp: {diag.help}" if diag.help else "")
        result: dict[str, JsonValue] = {
            "ruleId": diag.code,
            "level": _SARIF_LEVEL[diag.severity],
            "message": {"text": text},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": span.path, "uriBaseId": "%SRCROOT%"},
                        "region": {
                            "startLine": span.line,
                            "startColumn": span.col,
                            "endLine": span.end_line,
                            "endColumn": span.end_col,
                        },
                    }
                }
            ],
        }
        if diag.code in REGISTRY:
            result["ruleIndex"] = rule_ids.index(diag.code)
        if diag.notes:
            result["properties"] = {"notes": list(diag.notes)}
        results.append(result)
    log: JsonValue = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "gatic", "version": tool_version, "rules": rules}},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return canonical_json(log)


# --- junit -------------------------------------------------------------------------------------


def _xml_text(text: str) -> str:
    """Drop characters XML 1.0 cannot carry (control characters other than tab and newlines)."""
    return "".join(ch for ch in text if ch in "\t\n\r" or ord(ch) >= 0x20)


def render_junit(diags: Iterable[Diagnostic]) -> str:
    """JUnit XML: one test suite per file, one test case per diagnostic.

    Errors are failures; warnings and info messages are passing cases with the text in
    `system-out`. No diagnostics gives one passing case, so CI shows that the check ran.
    """
    items = _sorted(diags)
    errors = sum(d.severity is Severity.ERROR for d in items)
    root = ET.Element("testsuites", name="gatic", tests=str(max(len(items), 1)), failures=str(errors), errors="0")
    by_path: dict[str, list[Diagnostic]] = {}
    for diag in items:
        by_path.setdefault(diag.span.path, []).append(diag)
    if not by_path:
        suite = ET.SubElement(root, "testsuite", name="gatic", tests="1", failures="0", errors="0", skipped="0")
        ET.SubElement(suite, "testcase", classname="gatic", name="no problems found")
    for path, group in by_path.items():
        failed = sum(d.severity is Severity.ERROR for d in group)
        suite = ET.SubElement(
            root,
            "testsuite",
            name=_xml_text(path),
            tests=str(len(group)),
            failures=str(failed),
            errors="0",
            skipped="0",
        )
        for diag in group:
            span = diag.span
            case = ET.SubElement(
                suite,
                "testcase",
                classname=_xml_text(path),
                name=_xml_text(f"{diag.code} {span.path}:{span.line}:{span.col}"),
                file=_xml_text(path),
                line=str(span.line),
            )
            detail = "\n".join(
                [
                    f"{span.path}:{span.line}:{span.col}: {diag.severity.value}[{diag.code}] {diag.message}",
                    *(f"note: {n}" for n in diag.notes),
                    *([f"help: {diag.help}"] if diag.help else []),
                ]
            )
            if diag.severity is Severity.ERROR:
                failure = ET.SubElement(case, "failure", type=diag.code, message=_xml_text(diag.message))
                failure.text = _xml_text(detail)
            else:
                out = ET.SubElement(case, "system-out")
                out.text = _xml_text(detail)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
