"""The Timescape step of a build: read the lock, record a version when asked, annotate the program.

Input: the project root, its config, the lowered `Program` and an optional `RecordRequest`.
Output: a `TimescapeStep` (the annotated program, `manifest.json`'s versions, the lock to save
when a version was recorded). The lock is read here (like the config); it is written by the
pipeline only after the build succeeded, atomically. Plain builds never write it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from pydantic import JsonValue

from gati_compiler.config import GatiConfig
from gati_compiler.diagnostics import codes
from gati_compiler.diagnostics.model import DiagnosticSink, Span
from gati_compiler.ir.models import Program
from gati_compiler.timescape.apply import apply_lock, manifest_versions
from gati_compiler.timescape.contract import contract_from_program
from gati_compiler.timescape.lock import Lock, Version, format_tsv
from gati_compiler.timescape.lock_read import load_lock
from gati_compiler.timescape.record import LockOpError, RecordRequest, record

# a fixed clock for reproducible recordings (tests, demos): a TSV
AT_ENV: Final = "GATI_TIMESCAPE_AT"


def clock_tsv() -> str:
    """Now, as a TSV (or `$GATI_TIMESCAPE_AT` when set)."""
    return os.environ.get(AT_ENV) or format_tsv(datetime.now(UTC))


@dataclass
class TimescapeStep:
    program: Program
    versions: list[JsonValue] = field(default_factory=list)
    lock: Lock | None = None
    recorded: Version | None = None  # set when this build recorded a version (save `lock`)
    record_error: str | None = None


def lock_rel(cfg: GatiConfig) -> str:
    return cfg.timescape.lock.replace("\\", "/")


def timescape_step(
    cfg: GatiConfig, program: Program, sink: DiagnosticSink, request: RecordRequest | None
) -> TimescapeStep:
    """Read the lock (its problems go to `sink`), record when asked, annotate `program`."""
    rel = lock_rel(cfg)
    lock, diagnostics = load_lock(cfg.project_dir / rel, rel, app=cfg.name)
    sink.extend(diagnostics)
    step = TimescapeStep(program=program, lock=lock)
    if sink.has_errors:
        return step
    if request is not None:
        try:
            lock = record(
                lock,
                contract_from_program(program),
                at=request.at,
                tags=request.tags,
                labels=request.labels,
                allow_empty=request.allow_empty,
            )
        except LockOpError as exc:
            if not request.auto:
                step.record_error = str(exc)
        else:
            step.lock = lock
            step.recorded = lock.latest
            if request.auto:
                sink.emit(
                    codes.VERSION_RECORDED,
                    f"recorded version `{request.at}` (`auto_record` is on)",
                    Span.point(rel),
                    help="auto_record is for development; record releases with `gatic version record --tag`",
                )
    if lock is not None:
        step.program = apply_lock(program, lock)
        step.versions = manifest_versions(lock)
    return step
