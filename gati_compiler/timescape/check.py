"""`gatic check --against` and `gatic diff` without the command line: two trees in, a report out.

Input: the project folder, the two sides to compare (a git ref, or `None` for the working
tree), the day, and the gate's settings. Output: a `CheckOutcome` with the classified findings
(acceptances applied), the diagnostics (Timescape's GATI72x, and the analysis errors of either
side) and the source texts of both sides for frames.

Both sides are analysed statically in memory (`pipeline.analyse`); a file with the same path
and bytes on both sides is parsed once (a shared parse cache).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from gati_compiler.config import AcceptedBreak, GatiConfig, load_config
from gati_compiler.diagnostics import codes
from gati_compiler.diagnostics.model import Diagnostic, DiagnosticSink, Severity, Span
from gati_compiler.pipeline import BuildResult, ParseCache, analyse
from gati_compiler.timescape.contract import ApiContract, contract_from_program
from gati_compiler.timescape.diff import RULES, Finding, diff_contracts
from gati_compiler.timescape.diff.model import LEVEL_RANK, Category, Level
from gati_compiler.timescape.gitsrc import GitSourceError, read_tree
from gati_compiler.timescape.lock import Lock, Version
from gati_compiler.timescape.lock_read import load_lock

_GIT_CODES = {"not-a-repo": codes.TS_NOT_A_REPO, "bad-ref": codes.TS_BAD_REF, "git-failed": codes.TS_GIT_FAILED}


@dataclass(frozen=True)
class Gate:
    """What fails the gate: findings at or above `fail_on` in `categories`, not accepted."""

    fail_on: Level = Level.ERR
    categories: tuple[Category, ...] = (Category.WIRE, Category.POLICY)

    def fails(self, f: Finding) -> bool:
        return f.accepted is None and f.category in self.categories and LEVEL_RANK[f.level] >= LEVEL_RANK[self.fail_on]


@dataclass
class Side:
    label: str  # "working tree", or the ref as given
    result: BuildResult | None = None
    contract: ApiContract | None = None


@dataclass
class CheckOutcome:
    old: Side
    new: Side
    gate: Gate
    findings: list[Finding] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def failing(self) -> list[Finding]:
        return [f for f in self.findings if self.gate.fails(f)]

    @property
    def ok(self) -> bool:
        return not self.failing and not any(d.severity is Severity.ERROR for d in self.diagnostics)

    def sources(self, f: Finding) -> dict[str, str]:
        side = self.old if f.in_old else self.new
        return side.result.sources if side.result is not None else {}


def version_label(v: Version) -> str:
    return f"version {v.tsv}" + (f" ({', '.join(v.tags)})" if v.tags else "")


def open_lock(project: Path, sink: DiagnosticSink) -> tuple[GatiConfig | None, Lock | None]:
    """The working tree's config and lock; problems in either go to `sink`."""
    cfg = load_config(project, sink)
    if cfg is None:
        return None, None
    rel = cfg.timescape.lock.replace("\\", "/")
    lock, diagnostics = load_lock(project / rel, rel, app=cfg.name)
    sink.extend(diagnostics)
    return cfg, lock


def latest_version(cfg: GatiConfig | None, lock: Lock | None, sink: DiagnosticSink) -> str | None:
    """The TSV `gatic diff` starts from by default, or GATI728 when nothing was recorded."""
    if lock is not None and lock.latest is not None:
        return lock.latest.tsv
    sink.emit(
        codes.TS_NO_VERSION,
        "there is no recorded version to compare with",
        Span.point(cfg.timescape.lock if cfg is not None else "timescape.lock"),
        help="record one with `gatic version record`, or name a git ref with `--from`",
    )
    return None


def analyse_side(
    project: Path,
    ref: str | None,
    sink: DiagnosticSink,
    cache: ParseCache,
    jobs: int | None,
    lock: Lock | None = None,
) -> Side:
    """The working tree (`ref` None), a recorded version of `lock` (when `lock` is given and
    knows the name), or the sources at a git ref."""
    version = lock.resolve(ref) if lock is not None and ref is not None else None
    if version is not None and lock is not None:
        return Side(label=version_label(version), contract=lock.contract(version))
    side = Side(label=ref or "working tree")
    if ref is None:
        result = analyse(project, jobs=jobs, parse_cache=cache)
    else:
        try:
            tree = read_tree(project, ref)
        except GitSourceError as exc:
            sink.emit(_GIT_CODES[exc.kind], exc.message, Span.point("."), help=exc.hint)
            return side
        result = analyse(project, files=tree.files, jobs=jobs, parse_cache=cache)
    side.result = result
    if result.program is not None and result.ok:
        side.contract = contract_from_program(result.program)
    return side


def compare_sides(
    project: Path,
    *,
    old_ref: str | None,
    new_ref: str | None = None,
    today: date,
    gate: Gate | None = None,
    jobs: int | None = None,
    lock: Lock | None = None,
) -> CheckOutcome:
    """Analyse both sides and diff their contracts; acceptances come from the new side's config
    (the working tree's when the new side is a recorded version). With `lock`, a side named
    by a version of it is that recorded contract; otherwise every name is a git ref."""
    sink = DiagnosticSink()
    cache: ParseCache = {}
    new = analyse_side(project, new_ref, sink, cache, jobs, lock)
    old = Side(old_ref or "working tree")
    if new.contract is not None:
        old = analyse_side(project, old_ref, sink, cache, jobs, lock)
    cfg = new.result.config if new.result is not None else load_config(project, DiagnosticSink())
    if gate is None:
        gate = gate_from_config(cfg)
    outcome = CheckOutcome(old=old, new=new, gate=gate)
    if new.result is not None:
        sink.extend([d for d in new.result.diagnostics if new_ref is None or d.severity is Severity.ERROR])
    if old.result is not None and not old.result.ok:
        first = next(d for d in old.result.diagnostics if d.severity is Severity.ERROR)
        sink.emit(
            codes.TS_BASE_BROKEN,
            f"the sources at `{old.label}` do not analyse cleanly ({first.code} at "
            f"{first.span.path}:{first.span.line}: {first.message}), so there is nothing to compare against",
            Span.point("."),
            help="compare against a ref whose sources build, e.g. the last release tag",
        )
    if old.contract is not None and new.contract is not None:
        findings = diff_contracts(old.contract, new.contract, today=today)
        outcome.findings = apply_acceptances(findings, cfg, today, sink, new.result.sources if new.result else {})
        for f in outcome.failing:
            sink.emit(
                codes.TS_BREAKING_CHANGE,
                f"[{f.rule}] {f.handler}: {f.message}",
                Span.point(f.source.file, f.source.line),
                help=f"if this break is intended, accept it under [[tool.gati.timescape.accept]] "
                f'(rule = "{f.rule}", handler = "{f.handler}")',
            )
    outcome.diagnostics = sink.diagnostics
    return outcome


def gate_from_config(cfg: GatiConfig | None) -> Gate:
    if cfg is None:
        return Gate()
    ts = cfg.timescape
    return Gate(fail_on=Level(ts.fail_on), categories=tuple(Category(c) for c in ts.categories))


def apply_acceptances(
    findings: Sequence[Finding], cfg: GatiConfig | None, today: date, sink: DiagnosticSink, sources: dict[str, str]
) -> list[Finding]:
    """Mark the findings an unexpired acceptance covers; report expired, unknown and unused ones."""
    accepts = cfg.timescape.accept if cfg is not None else ()
    config_file = cfg.config_file if cfg is not None and cfg.config_file else "pyproject.toml"
    text = sources.get(config_file, "")
    live: list[tuple[int, AcceptedBreak]] = []
    for index, a in enumerate(accepts):
        if a.rule != "*" and a.rule not in RULES:
            sink.emit(
                codes.TS_ACCEPT_UNKNOWN_RULE,
                f"accepted break #{index + 1} names the rule `{a.rule}`, which the diff engine does not know",
                _accept_span(config_file, text, index, "rule"),
                help="rule ids are listed in docs/breaking-changes.md (e.g. `request-property-removed`)",
            )
            continue
        if a.expires is not None and a.expires < today:
            sink.emit(
                codes.TS_ACCEPT_EXPIRED,
                f"the acceptance of `{a.rule}` for `{a.handler}` expired on {a.expires.isoformat()} ({a.reason})",
                _accept_span(config_file, text, index, "expires"),
                help="fix the break, or extend `expires` if it is still intended",
            )
            continue
        live.append((index, a))
    used: set[int] = set()
    out: list[Finding] = []
    for f in findings:
        for index, a in live:
            if a.rule in ("*", f.rule) and a.handler in ("*", f.handler) and f.level is not Level.INFO:
                used.add(index)
                f = replace(f, accepted=a.reason)
                break
        out.append(f)
    for index, a in live:
        if index not in used:
            sink.emit(
                codes.TS_ACCEPT_UNUSED,
                f"the accepted break `{a.rule}` for `{a.handler}` matches no change; it can be removed",
                _accept_span(config_file, text, index, "rule"),
            )
    return out


_TABLE = re.compile(r"^\s*\[\[\s*(?:tool\s*\.\s*gati\s*\.\s*)?timescape\s*\.\s*accept\s*\]\]", re.MULTILINE)


def _accept_span(config_file: str, text: str, index: int, key: str) -> Span:
    """The line of `key` in the `index`-th `[[tool.gati.timescape.accept]]` table (or the table)."""
    starts = [m.start() for m in _TABLE.finditer(text)]
    if index >= len(starts):
        return Span.point(config_file)
    start = starts[index]
    end = starts[index + 1] if index + 1 < len(starts) else len(text)
    line = text.count("\n", 0, start) + 1
    found = re.search(rf"^\s*{key}\s*=", text[start:end], re.MULTILINE)
    if found is not None:
        line += text.count("\n", start, start + found.start() + len(found.group(0)) - len(found.group(0).lstrip()))
    return Span.point(config_file, line)


def transformer_gate(result: BuildResult, sink: DiagnosticSink, today: date | None = None) -> None:
    """`gatic check`: every breaking step of the timeline needs a complete transformer on each
    side it breaks (GATI737); a break accepted in `[[tool.gati.timescape.accept]]` needs none."""
    from gati_compiler.timescape.transformers import missing_transformers

    if result.timescape is None:  # no recorded versions (or the build stopped on errors first)
        return
    day = today or date.today()
    cfg = result.config
    accepts = [a for a in (cfg.timescape.accept if cfg else ()) if a.expires is None or a.expires >= day]
    line, bound = result.timescape
    missing_transformers(line, bound, sink, accepts)
