"""What `gatic check` says about artifacts that are out of date: one line naming the source
change behind them when the build index knows what the artifacts were built from, else one line
per differing artifact (edited by hand). With no build at all there is nothing to be stale: the
build folder is generated output and not committed (a fresh clone in CI has none), so the gate
is then the sources' own diagnostics, and one info line says so."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from gati_compiler.cache import blob
from gati_compiler.cache.index import file_sha256, read_index
from gati_compiler.diagnostics import codes
from gati_compiler.diagnostics.model import DiagnosticSink, Span
from gati_compiler.writer import MANIFEST

_SHOWN = 3
_HELP = "run `gatic build` to regenerate it (the build folder is generated output, never edited by hand)"


def _names(paths: list[str]) -> str:
    shown = ", ".join(f"`{p}`" for p in paths[:_SHOWN])
    return shown + (f" and {len(paths) - _SHOWN} more" if len(paths) > _SHOWN else "")


def report_stale(
    root: Path, out: str, artifacts: Mapping[str, bytes], sources: Mapping[str, str], sink: DiagnosticSink
) -> None:
    """Compare `artifacts` (what the sources produce now) with the build folder and report."""
    out_dir = root / out
    if not (out_dir / MANIFEST).is_file():
        sink.emit(
            codes.NO_BUILD,
            f"there is no build in `{out}/`: the sources were checked, no generated file was compared",
            Span.point(f"{out}/{MANIFEST}"),
            help="nothing to fix (the build folder is not committed); run `gatic build` to have it checked too",
        )
        return
    stale = [rel for rel, data in artifacts.items() if not _same(out_dir / rel, data)]
    if not stale:
        return
    try:
        index = read_index(out_dir)
    except blob.CacheProblem:
        index = None
    if index is not None:
        now = set(sources)
        edited = sorted(rel for rel in now & index.files.keys() if _digest_of(root / rel) != index.files[rel])
        added = sorted(rel for rel in now - index.files.keys() if rel.endswith(".py"))
        removed = sorted(index.files.keys() - now)
        config = sorted(name for name, digest in index.config.items() if _digest_of(root / name) != digest)
        parts = []
        if config:
            parts.append(f"edits to {_names(config)}")
        if edited:
            parts.append(f"edits to {_names(edited)}")
        if added:
            parts.append(f"new {_names(added)}")
        if removed:
            parts.append(f"removal of {_names(removed)}")
        if parts:
            first = (config or edited or added or [f"{out}/{MANIFEST}"])[0]
            sink.emit(
                codes.ARTIFACT_STALE,
                f"`{out}/` is out of date ({len(stale)} artifacts differ): built before {', '.join(parts)}",
                Span.point(first),
                help=_HELP,
            )
            return
    for rel in stale:
        sink.emit(
            codes.ARTIFACT_STALE,
            f"`{out}/{rel}` is out of date",
            Span.point(f"{out}/{rel}"),
            help=_HELP,
        )


def _same(path: Path, data: bytes) -> bool:
    try:
        return path.read_bytes() == data
    except OSError:
        return False


def _digest_of(path: Path) -> str | None:
    return file_sha256(path)
