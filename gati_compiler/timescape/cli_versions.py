"""`gatic version …`: record, list, tag, label, deprecate and retire Timescape versions.

A thin click group over `record.py`'s pure operations: it reads the config and the lock, applies
one operation, writes the lock atomically and says what changed. `record` runs a full build (and
refuses when it has errors); the others only touch the lock. V is a TSV, tag or label everywhere.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal, NoReturn

import click
import orjson

from gati_compiler.config import GatiConfig, load_config
from gati_compiler.diagnostics.model import Diagnostic, DiagnosticSink
from gati_compiler.timescape.lock import Lock, parse_tsv, save_lock, versions_table
from gati_compiler.timescape.lock_read import load_lock
from gati_compiler.timescape.record import LockOpError, RecordRequest, deprecate, label, retire, tag
from gati_compiler.timescape.stage import AT_ENV, clock_tsv, lock_rel

Format = Literal["text", "json"]
_project_arg = click.argument(
    "project", default=".", type=click.Path(exists=True, file_okay=False, dir_okay=True, path_type=Path)
)
_at_opt = click.option(
    "--at",
    default=None,
    envvar=AT_ENV,
    hidden=True,
    help="The moment of the operation, a TSV (for reproducible tests); default: the clock.",
)


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _show(diags: list[Diagnostic], sources: dict[str, str]) -> None:
    from gati_compiler.cli import render

    if diags:
        out = render(diags, sources, "text")
        click.echo(out, nl=not out.endswith("\n"), err=True)


def _open(project: Path) -> tuple[GatiConfig, Lock | None]:
    """The project's config and lock; diagnostics in either end the command with status 1."""
    sink = DiagnosticSink()
    cfg = load_config(project, sink)
    if cfg is None or sink.has_errors:
        _show(sink.diagnostics, _texts(project, ("pyproject.toml", "gati.toml")))
        sys.exit(1)
    rel = lock_rel(cfg)
    lock, diags = load_lock(project / rel, rel, app=cfg.name)
    _show(diags, _texts(project, (rel,)))
    if lock is None and any(d.severity.value == "error" for d in diags):
        sys.exit(1)
    return cfg, lock


def _texts(project: Path, names: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name in names:
        try:
            out[name] = (project / name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
    return out


def _need_lock(lock: Lock | None) -> Lock:
    if lock is None or not lock.versions:
        _fail("no version is recorded yet; record one with `gatic version record --tag v1.0.0`")
    return lock


def _save(cfg: GatiConfig, lock: Lock, what: str) -> None:
    save_lock(lock, cfg.project_dir / lock_rel(cfg))
    click.echo(f"{what}; run `gatic build` so the build and the runtime see it", err=True)


@click.group("version")
def version_group() -> None:
    """Record and manage Timescape versions (`timescape.lock`)."""


@version_group.command("record")
@_project_arg
@click.option("--tag", "tags", multiple=True, help="A tag for the new version (never moves), e.g. v1.2.0.")
@click.option("--label", "labels", multiple=True, help="A label for the new version (moves here), e.g. stable.")
@click.option("--allow-empty", is_flag=True, help="Record even when the contract did not change.")
@_at_opt
def record_cmd(
    project: Path, tags: tuple[str, ...], labels: tuple[str, ...], allow_empty: bool, at: str | None
) -> None:
    """Build PROJECT and record its current contract as a new version."""
    from gati_compiler.cli import render
    from gati_compiler.pipeline import build

    if at is None:
        at = _next_second(project)
    elif parse_tsv(at) is None:
        raise click.BadParameter(f"`{at}` is not a TSV (`YYYY-MM-DDTHH:MM:SSZ`)", param_hint="--at")
    result = build(project, record=RecordRequest(at=at, tags=tags, labels=labels, allow_empty=allow_empty))
    if not result.ok:
        out = render(result.diagnostics, result.sources, "text")
        click.echo(out, nl=not out.endswith("\n"), err=True)
        _fail("the build has errors; nothing was recorded")
    if result.record_error is not None:
        _fail(result.record_error)
    assert result.recorded is not None and result.lock is not None
    v = result.recorded
    names = ", ".join((*v.tags, *v.labels))
    changed, removed = result.lock.public_changes(v.tsv)
    click.echo(
        f"recorded version {v.tsv}"
        + (f" ({names})" if names else "")
        + f": {len(result.lock.handler_maps[-1])} handlers, {len(changed)} changed, {len(removed)} removed",
        err=True,
    )


def _next_second(project: Path) -> str:
    """The clock's TSV, waiting for the next second when the latest version has this one."""
    _, lock = _open(project)
    now = clock_tsv()
    latest = lock.latest.tsv if lock is not None and lock.latest is not None else None
    if latest is not None and latest == now:
        time.sleep(1.05 - (time.time() % 1.0))
        now = clock_tsv()
    return now


@version_group.command("list")
@_project_arg
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def list_cmd(project: Path, fmt: Format) -> None:
    """List PROJECT's recorded versions, oldest first."""
    _, lock = _open(project)
    rows = versions_table(lock) if lock is not None else []
    if fmt == "json":
        click.echo(orjson.dumps({"version": 1, "versions": rows}, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
        return
    if not rows:
        click.echo("no versions recorded (gatic version record --tag v1.0.0)", err=True)
        return
    table = [("TSV", "STATUS", "TAGS", "LABELS", "SUNSET", "HANDLERS", "CHANGES")]
    for row in rows:
        changed, removed = row["changed"], row["removed"]
        assert isinstance(changed, list) and isinstance(removed, list)
        status = str(row["status"]) + (f" -> {row['successor']}" if "successor" in row else "")
        table.append(
            (
                str(row["tsv"]),
                status,
                ",".join(map(str, row["tags"])) if row["tags"] else "-",  # type: ignore[arg-type]
                ",".join(map(str, row["labels"])) if row["labels"] else "-",  # type: ignore[arg-type]
                str(row.get("sunset") or "-"),
                str(row["handlerCount"]),
                f"+{len(changed)} -{len(removed)}",
            )
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    for r in table:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())


def _apply(project: Path, op: str, fn: Callable[[Lock], Lock]) -> None:
    cfg, lock = _open(project)
    found = _need_lock(lock)
    try:
        new = fn(found)
    except LockOpError as exc:
        _fail(str(exc))
    if new is found:
        click.echo(f"{op}: nothing to change", err=True)
        return
    _save(cfg, new, op)


@version_group.command("tag")
@click.argument("version")
@click.argument("name")
@_project_arg
def tag_cmd(version: str, name: str, project: Path) -> None:
    """Tag VERSION with NAME (a tag never moves)."""
    _apply(project, f"tagged {version} as {name}", lambda lock: tag(lock, version, name))


@version_group.command("label")
@click.argument("version")
@click.argument("name")
@_project_arg
def label_cmd(version: str, name: str, project: Path) -> None:
    """Move the label NAME to VERSION."""
    _apply(project, f"labelled {version} as {name}", lambda lock: label(lock, version, name))


@version_group.command("deprecate")
@click.argument("version")
@click.option("--sunset", required=True, help="The date after which VERSION may stop being served (YYYY-MM-DD).")
@_project_arg
@_at_opt
def deprecate_cmd(version: str, sunset: str, project: Path, at: str | None) -> None:
    """Deprecate VERSION: its clients get `Deprecation` and `Sunset` headers."""
    when = at or clock_tsv()
    _apply(
        project,
        f"deprecated {version} (sunset {sunset})",
        lambda lock: deprecate(lock, version, sunset=sunset, at=when),
    )


@version_group.command("retire")
@click.argument("version")
@_project_arg
@_at_opt
def retire_cmd(version: str, project: Path, at: str | None) -> None:
    """Retire VERSION: its clients get 410 naming the successor version."""
    when = at or clock_tsv()
    _apply(project, f"retired {version}", lambda lock: retire(lock, version, at=when))


__all__ = ["version_group"]
