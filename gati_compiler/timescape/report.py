"""Renderers of a `CheckOutcome`: text, json, github, sarif, junit and markdown.

Input: a `CheckOutcome` (findings, diagnostics, both sides' sources). Output: one string per
format; every renderer is a pure function of its input. The text format groups findings by
handler and shows the source line each points at, with the frame helpers of our diagnostics.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Final, Literal

import click
from pydantic import JsonValue

from gati_compiler.canonical import canonical_json, compact_json
from gati_compiler.diagnostics import codes
from gati_compiler.diagnostics.model import Diagnostic, Severity, Span
from gati_compiler.diagnostics.render import (
    SARIF_SCHEMA,
    _frame_line,
    _json_item,
    _split_lines,
    _xml_text,
    render_github,
    render_text,
)
from gati_compiler.timescape.check import CheckOutcome
from gati_compiler.timescape.diff import RULES, Finding
from gati_compiler.timescape.diff.model import Level

ReportFormat = Literal["text", "json", "github", "sarif", "junit", "markdown"]
FORMATS: Final = ("text", "json", "github", "sarif", "junit", "markdown")
JSON_VERSION: Final = 1
_TINT: Final = {Level.ERR: "red", Level.WARN: "yellow", Level.INFO: "blue"}


def render_outcome(outcome: CheckOutcome, fmt: ReportFormat, *, color: bool = False, tool_version: str = "") -> str:
    renderers: dict[str, Callable[[], str]] = {
        "text": lambda: render_text_report(outcome, color=color),
        "json": lambda: render_json_report(outcome),
        "github": lambda: render_github_report(outcome),
        "sarif": lambda: render_sarif_report(outcome, tool_version),
        "junit": lambda: render_junit_report(outcome),
        "markdown": lambda: render_markdown_report(outcome),
    }
    return renderers[fmt]()


def _status(outcome: CheckOutcome, f: Finding) -> str:
    if f.accepted is not None:
        return "accepted"
    if outcome.gate.fails(f):
        return "breaking"
    return "safe" if f.level is Level.INFO else "reported"


def _other_diagnostics(outcome: CheckOutcome) -> list[Diagnostic]:
    """Diagnostics besides the one per failing finding (those are the findings themselves)."""
    return [d for d in outcome.diagnostics if d.code != codes.TS_BREAKING_CHANGE.id]


def _route(outcome: CheckOutcome, handler: str) -> str:
    for side in (outcome.new, outcome.old):
        h = side.contract.handler(handler) if side.contract is not None else None
        if h is not None:
            return f"{h.method} {h.path}"
    return ""


def summary(outcome: CheckOutcome) -> str:
    failing = len(outcome.failing)
    accepted = sum(f.accepted is not None for f in outcome.findings)
    reported = sum(_status(outcome, f) == "reported" for f in outcome.findings)
    safe = sum(f.level is Level.INFO for f in outcome.findings)
    gate = f"fail on {outcome.gate.fail_on.value} in {', '.join(c.value for c in outcome.gate.categories)}"
    return (
        f"{outcome.old.label} → {outcome.new.label}: {failing} breaking, {accepted} accepted, "
        f"{reported} below the gate, {safe} safe ({gate})."
    )


# --- text --------------------------------------------------------------------------------------


def render_text_report(outcome: CheckOutcome, *, color: bool = False) -> str:
    def style(text: str, **kwargs: str | bool) -> str:
        return click.style(text, **kwargs) if color else text  # type: ignore[arg-type]

    blocks: list[str] = []
    by_handler: dict[str, list[Finding]] = {}
    for f in outcome.findings:
        by_handler.setdefault(f.handler, []).append(f)
    split_cache: dict[tuple[bool, str], list[str]] = {}
    for handler, group in by_handler.items():
        first = group[0]
        out = [f"{style(handler, bold=True)}  {_route(outcome, handler)}  ({first.source.file}:{first.source.line})"]
        for f in group:
            status = _status(outcome, f)
            tag = style(f"{f.level.value:<4}", fg=_TINT[f.level], bold=status == "breaking")
            out.append(f"  {tag} {f.category.value:<6} {f.rule}  {style(f.path, bold=True)}")
            out.append(f"       {f.message}")
            if status == "accepted":
                out.append(f"       = accepted: {f.accepted}")
            elif status == "breaking":
                sources = outcome.sources(f)
                if f.source.file in sources:
                    lines = split_cache.setdefault((f.in_old, f.source.file), _split_lines(sources[f.source.file]))
                    diag = Diagnostic(
                        code=f.rule,
                        name=f.rule,
                        severity=Severity.ERROR,
                        message=f.message,
                        span=Span.point(f.source.file, f.source.line, 1),
                    )
                    frame = _frame_line(lines, diag)
                    if frame is not None:
                        where = f"{'old' if f.in_old else 'new'} {f.source.file}"
                        out.append(f"       {style('-->', fg='blue')} {where}:{frame[0]}")
                        out.append(f"       {style(str(frame[0]), fg='blue')} | {frame[1].strip()}")
        blocks.append("\n".join(out) + "\n")
    others = _other_diagnostics(outcome)
    if others:
        sources = outcome.new.result.sources if outcome.new.result is not None else {}
        text = render_text(others, sources, color=color)
        blocks.append(text.rsplit("\n", 2)[0] + "\n")  # without its own summary line
    blocks.append(summary(outcome) + "\n")
    return "\n".join(blocks)


# --- json --------------------------------------------------------------------------------------


def render_json_report(outcome: CheckOutcome) -> str:
    findings: list[JsonValue] = []
    for f in outcome.findings:
        item = f.to_json()
        item["status"] = _status(outcome, f)
        findings.append(item)
    doc: JsonValue = {
        "version": JSON_VERSION,
        "old": outcome.old.label,
        "new": outcome.new.label,
        "ok": outcome.ok,
        "gate": {
            "failOn": outcome.gate.fail_on.value,
            "categories": [c.value for c in outcome.gate.categories],
        },
        "findings": findings,
        "diagnostics": [_json_item(d) for d in _other_diagnostics(outcome)],
    }
    return canonical_json(doc)


# --- github ------------------------------------------------------------------------------------


def _gh(text: str, prop: bool = False) -> str:
    out = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return out.replace(":", "%3A").replace(",", "%2C") if prop else out


def render_github_report(outcome: CheckOutcome) -> str:
    """GitHub workflow commands: an error per failing finding, a warning per finding below the
    gate or accepted; safe changes are not annotated."""
    lines: list[str] = []
    for f in outcome.findings:
        status = _status(outcome, f)
        if status == "safe":
            continue
        kind = "error" if status == "breaking" else "warning"
        title = f"{f.rule} ({f.level.value} {f.category.value})"
        message = f"{f.handler}: {f.message}" + (f"\naccepted: {f.accepted}" if f.accepted else "")
        lines.append(
            f"::{kind} file={_gh(f.source.file, True)},line={f.source.line},title={_gh(title, True)}::{_gh(message)}\n"
        )
    return "".join(lines) + render_github(_other_diagnostics(outcome))


# --- sarif -------------------------------------------------------------------------------------


def render_sarif_report(outcome: CheckOutcome, tool_version: str) -> str:
    """SARIF 2.1.0: every catalogue rule is a reporting rule; a result per finding that is not safe."""
    rule_ids = sorted(RULES)
    rules: list[JsonValue] = [
        {
            "id": rid,
            "name": rid,
            "shortDescription": {"text": RULES[rid].title},
            "defaultConfiguration": {"level": _sarif_level(RULES[rid].level)},
            "properties": {
                "category": RULES[rid].category.value,
                "side": RULES[rid].side,
                "catalogueRow": RULES[rid].row,
                "buf": RULES[rid].buf,
            },
        }
        for rid in rule_ids
    ]
    results: list[JsonValue] = []
    for f in outcome.findings:
        status = _status(outcome, f)
        if status == "safe":
            continue
        result: dict[str, JsonValue] = {
            "ruleId": f.rule,
            "ruleIndex": rule_ids.index(f.rule),
            "level": "error" if status == "breaking" else "warning",
            "message": {"text": f"{f.handler}: {f.message}"},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": f.source.file, "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": f.source.line},
                    }
                }
            ],
            "properties": {
                "handler": f.handler,
                "path": f.path,
                "old": f.old,
                "new": f.new,
                "tree": "old" if f.in_old else "new",
            },
        }
        if f.accepted is not None:
            result["suppressions"] = [{"kind": "external", "justification": f.accepted}]
        results.append(result)
    for d in _other_diagnostics(outcome):
        results.append(
            {
                "ruleId": d.code,
                "level": {"error": "error", "warning": "warning", "info": "note"}[d.severity.value],
                "message": {"text": d.message + (f"\nhelp: {d.help}" if d.help else "")},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": d.span.path, "uriBaseId": "%SRCROOT%"},
                            "region": {"startLine": d.span.line, "startColumn": d.span.col},
                        }
                    }
                ],
            }
        )
    log: JsonValue = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "gatic-timescape", "version": tool_version, "rules": rules}},
                "results": results,
            }
        ],
    }
    return canonical_json(log)


def _sarif_level(level: Level) -> str:
    return {Level.ERR: "error", Level.WARN: "warning", Level.INFO: "note"}[level]


# --- junit -------------------------------------------------------------------------------------


def render_junit_report(outcome: CheckOutcome) -> str:
    """JUnit XML: a test suite per handler and a test case per finding; breaking ones fail."""
    root = ET.Element("testsuites", name="gatic-timescape")
    by_handler: dict[str, list[Finding]] = {}
    for f in outcome.findings:
        by_handler.setdefault(f.handler, []).append(f)
    total = failures = 0
    for handler, group in by_handler.items():
        failed = sum(_status(outcome, f) == "breaking" for f in group)
        suite = ET.SubElement(
            root, "testsuite", name=_xml_text(handler), tests=str(len(group)), failures=str(failed), errors="0"
        )
        for f in group:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=_xml_text(handler),
                name=_xml_text(f"{f.rule} {f.path}"),
                file=_xml_text(f.source.file),
                line=str(f.source.line),
            )
            detail = f"{f.level.value} {f.category.value} {f.message}" + (
                f"\naccepted: {f.accepted}" if f.accepted else ""
            )
            if _status(outcome, f) == "breaking":
                failure = ET.SubElement(case, "failure", type=f.rule, message=_xml_text(f.message))
                failure.text = _xml_text(detail)
            else:
                ET.SubElement(case, "system-out").text = _xml_text(detail)
        total += len(group)
        failures += failed
    others = _other_diagnostics(outcome)
    if others:
        suite = ET.SubElement(root, "testsuite", name="diagnostics", tests=str(len(others)), errors="0")
        for d in others:
            case = ET.SubElement(suite, "testcase", classname="diagnostics", name=_xml_text(f"{d.code} {d.span.path}"))
            if d.severity is Severity.ERROR:
                failures += 1
                ET.SubElement(case, "failure", type=d.code, message=_xml_text(d.message)).text = _xml_text(d.message)
        total += len(others)
    if total == 0:
        suite = ET.SubElement(root, "testsuite", name="timescape", tests="1", failures="0", errors="0")
        ET.SubElement(suite, "testcase", classname="timescape", name="no contract changes")
        total = 1
    root.set("tests", str(total))
    root.set("failures", str(failures))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# --- markdown ----------------------------------------------------------------------------------


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_value(value: JsonValue) -> str:
    return "–" if value is None else f"`{_md(value if isinstance(value, str) else compact_json(value))}`"


def render_markdown_report(outcome: CheckOutcome) -> str:
    """A pull-request comment: a verdict line, then a table per handler; safe changes folded."""
    failing = outcome.failing
    icon = "❌" if not outcome.ok else "✅"
    verdict = (
        f"{len(failing)} breaking change{'s' if len(failing) != 1 else ''} that no one accepted"
        if failing
        else "no unaccepted breaking change"
    )
    out = [f"### {icon} Timescape: {verdict}", "", f"Compared `{outcome.old.label}` with `{outcome.new.label}`.", ""]
    by_handler: dict[str, list[Finding]] = {}
    for f in outcome.findings:
        if f.level is not Level.INFO:
            by_handler.setdefault(f.handler, []).append(f)
    for handler, group in by_handler.items():
        out.append(f"#### `{handler}` {_route(outcome, handler)}")
        out.append("")
        out.append("| | Level | Category | Rule | Where | Old | New | Change |")
        out.append("|---|---|---|---|---|---|---|---|")
        for f in group:
            status = _status(outcome, f)
            mark = {"breaking": "❌", "accepted": "☑️ accepted", "reported": "⚠️"}.get(status, "")
            out.append(
                f"| {mark} | {f.level.value} | {f.category.value} | `{f.rule}` | `{_md(f.path)}` "
                f"({f.source.file}:{f.source.line}) | {_md_value(f.old)} | {_md_value(f.new)} | {_md(f.message)} |"
            )
        out.append("")
    safe = [f for f in outcome.findings if f.level is Level.INFO]
    if safe:
        out.append(f"<details><summary>{len(safe)} safe change{'s' if len(safe) != 1 else ''}</summary>")
        out.append("")
        out.extend(f"- `{f.handler}` `{_md(f.path)}`: {_md(f.message)}" for f in safe)
        out.append("")
        out.append("</details>")
        out.append("")
    for d in _other_diagnostics(outcome):
        out.append(f"- **{d.severity.value} {d.code}** `{d.span.path}:{d.span.line}`: {_md(d.message)}")
    out.append(f"_{summary(outcome)}_")
    return "\n".join(out) + "\n"
