"""`gatic diff`, `gatic changelog`, and the `--against` half of `gatic check`.

Thin click layers over `check.compare_sides`, `changelog.build_changelog` and `report`: they
parse options, print, and exit 0 (nothing at or above the gate), 1 (an unaccepted break or an
error diagnostic) or 2 (usage).
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import click

from gati_compiler.config import load_config
from gati_compiler.diagnostics.model import DiagnosticSink, Severity
from gati_compiler.diagnostics.render import render_text
from gati_compiler.pipeline import analyse
from gati_compiler.timescape.changelog import build_changelog, render_json, render_markdown
from gati_compiler.timescape.check import (
    CheckOutcome,
    Gate,
    compare_sides,
    gate_from_config,
    latest_version,
    open_lock,
)
from gati_compiler.timescape.contract import contract_from_program
from gati_compiler.timescape.diff.model import Category, Level
from gati_compiler.timescape.report import FORMATS, ReportFormat, render_outcome
from gati_compiler.version import __version__

TODAY_ENV = "GATI_TIMESCAPE_TODAY"  # a fixed "today" (ISO date) for reproducible reports


def today() -> datetime:
    fixed = os.environ.get(TODAY_ENV)
    return datetime.fromisoformat(fixed) if fixed else datetime.now(UTC)


def _color() -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    return bool(os.environ.get("FORCE_COLOR")) or sys.stdout.isatty()


def gate_options(fn: click.decorators.FC) -> click.decorators.FC:
    fn = click.option(
        "--category",
        "categories",
        multiple=True,
        type=click.Choice(["WIRE", "SDK", "POLICY"]),
        help="Categories that fail the gate (repeatable; default: [tool.gati.timescape] categories).",
    )(fn)
    return click.option(
        "--fail-on",
        type=click.Choice(["ERR", "WARN"]),
        default=None,
        help="Lowest level that fails (default: [tool.gati.timescape] fail_on, ERR).",
    )(fn)


report_format = click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True, help="Report format."
)


def make_gate(project: Path, fail_on: str | None, categories: tuple[str, ...]) -> Gate:
    base = gate_from_config(load_config(project, DiagnosticSink()))
    return Gate(
        fail_on=Level(fail_on) if fail_on else base.fail_on,
        categories=tuple(Category(c) for c in categories) if categories else base.categories,
    )


def finish(outcome: CheckOutcome, fmt: ReportFormat) -> None:
    out = render_outcome(outcome, fmt, color=_color() and fmt == "text", tool_version=__version__)
    click.echo(out, nl=not out.endswith("\n"))
    sys.exit(0 if outcome.ok else 1)


def run_check_against(
    project: Path, ref: str, fmt: ReportFormat, fail_on: str | None, categories: tuple[str, ...], jobs: int | None
) -> None:
    """`gatic check --against REF`: the working tree against the sources at a git ref."""
    gate = make_gate(project, fail_on, categories)
    outcome = compare_sides(project, old_ref=ref, new_ref=None, today=today().date(), gate=gate, jobs=jobs)
    finish(outcome, fmt)


@click.command("diff")
@click.argument("project", default=".", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--from", "from_", default=None, help="A recorded version (TSV, tag, label) or a git ref.")
@click.option("--to", "to", default=None, help="A recorded version or a git ref (default: the working tree).")
@report_format
@gate_options
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help="Parser processes.")
def diff_cmd(
    project: Path,
    from_: str | None,
    to: str | None,
    fmt: ReportFormat,
    fail_on: str | None,
    categories: tuple[str, ...],
    jobs: int | None,
) -> None:
    """Compare two contracts of PROJECT: by default the latest recorded version with the working tree."""
    sink = DiagnosticSink()
    cfg, lock = open_lock(project, sink)
    if from_ is None and not sink.has_errors:
        from_ = latest_version(cfg, lock, sink)
    if sink.has_errors or from_ is None:
        _fail(project, sink)
    gate = make_gate(project, fail_on, categories)
    outcome = compare_sides(project, old_ref=from_, new_ref=to, today=today().date(), gate=gate, jobs=jobs, lock=lock)
    finish(outcome, fmt)


def _fail(project: Path, sink: DiagnosticSink) -> None:
    texts = {}
    for name in ("pyproject.toml", "gati.toml", "timescape.lock"):
        path = project / name
        if path.is_file():
            texts[name] = path.read_text(encoding="utf-8", errors="replace")
    click.echo(render_text(sink.diagnostics, texts, color=_color()), err=True, nl=False)
    sys.exit(1)


@click.command("changelog")
@click.argument("project", default=".", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["markdown", "json"]), default="markdown", show_default=True)
@click.option("--unreleased/--no-unreleased", default=True, show_default=True, help="Include the working tree.")
def changelog_cmd(project: Path, fmt: Literal["markdown", "json"], unreleased: bool) -> None:
    """The changelog of PROJECT from its recorded versions, plus an Unreleased section."""
    sink = DiagnosticSink()
    cfg, lock = open_lock(project, sink)
    if sink.has_errors or cfg is None:
        _fail(project, sink)
        return
    working = None
    if unreleased:
        result = analyse(project)
        if result.program is None or not result.ok:
            errors = [d for d in result.diagnostics if d.severity is Severity.ERROR]
            click.echo(render_text(errors, result.sources, color=_color()), err=True, nl=False)
            sys.exit(1)
        working = contract_from_program(result.program)
    log = build_changelog(lock, cfg.name, working, today().date())
    click.echo(render_markdown(log) if fmt == "markdown" else render_json(log), nl=False)
