"""The changelog: what changed between consecutive recorded versions, and since the last one.

Input: a `Lock` and, optionally, the working tree's contract. Output: `Changelog` sections
(newest first), each with its findings, rendered as Markdown or JSON. Sunset dates in a
version's diff are held against the day that version was recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from pydantic import JsonValue

from gati_compiler.canonical import canonical_json
from gati_compiler.timescape.contract import ApiContract
from gati_compiler.timescape.diff import Finding, diff_contracts
from gati_compiler.timescape.diff.model import Level
from gati_compiler.timescape.lock import Lock, Version

_HEADINGS = ((Level.ERR, "Breaking"), (Level.WARN, "Possibly breaking"), (Level.INFO, "Safe changes"))


@dataclass
class Section:
    title: str  # "Unreleased", or the version's TSV
    version: Version | None
    findings: list[Finding] = field(default_factory=list)
    endpoints: int = 0
    initial: bool = False


@dataclass
class Changelog:
    app: str
    sections: list[Section] = field(default_factory=list)


def build_changelog(lock: Lock | None, app: str, working: ApiContract | None, today: date) -> Changelog:
    log = Changelog(app=lock.app if lock is not None else app)
    previous: ApiContract | None = None
    versions = lock.versions if lock is not None else ()
    for v in versions:
        assert lock is not None
        current = lock.contract(v)
        section = Section(title=v.tsv, version=v, endpoints=len(current.handlers), initial=previous is None)
        if previous is not None:
            section.findings = diff_contracts(previous, current, today=date.fromisoformat(v.tsv[:10]))
        log.sections.append(section)
        previous = current
    if working is not None:
        unreleased = Section(title="Unreleased", version=None, endpoints=len(working.handlers))
        if previous is not None:
            unreleased.findings = diff_contracts(previous, working, today=today)
        else:
            unreleased.initial = True
        log.sections.append(unreleased)
    log.sections.reverse()
    return log


def render_markdown(log: Changelog) -> str:
    out = [f"# Changelog of {log.app}", ""]
    for s in log.sections:
        v = s.version
        extra: list[str] = []
        if v is not None:
            extra += [f"tags: {', '.join(v.tags)}"] if v.tags else []
            extra += [f"labels: {', '.join(v.labels)}"] if v.labels else []
            if v.status != "active":
                extra.append(v.status + (f", sunset {v.sunset}" if v.sunset else ""))
        out.append(f"## {s.title}" + (f" ({'; '.join(extra)})" if extra else ""))
        out.append("")
        if s.initial:
            out.append(f"First recorded contract: {s.endpoints} endpoint{'s' if s.endpoints != 1 else ''}.")
            out.append("")
            continue
        if not s.findings:
            out.append("No contract changes.")
            out.append("")
            continue
        for level, heading in _HEADINGS:
            group = [f for f in s.findings if f.level is level]
            if not group:
                continue
            out.append(f"### {heading}")
            out.append("")
            out.extend(f"- `{f.handler}`: {f.message} (`{f.rule}`, {f.category.value})" for f in group)
            out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def render_json(log: Changelog) -> str:
    sections: list[JsonValue] = []
    for s in log.sections:
        v = s.version
        sections.append(
            {
                "title": s.title,
                "tsv": v.tsv if v is not None else None,
                "tags": list(v.tags) if v is not None else [],
                "labels": list(v.labels) if v is not None else [],
                "status": v.status if v is not None else None,
                "initial": s.initial,
                "endpoints": s.endpoints,
                "findings": [f.to_json() for f in s.findings],
            }
        )
    return canonical_json({"version": 1, "app": log.app, "sections": sections})
