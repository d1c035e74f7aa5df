"""The pipeline: the one place that knows the stage order.

config → discover → parse (entry files, then what they import) → resolve → lower → emit → write.
It stops after the first stage that reports errors, and turns a crash of gati itself into a
GATI900 diagnostic rather than a traceback.
"""

from __future__ import annotations

import gc
import os
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal, TypeVar

from pydantic import JsonValue

from gati_compiler.canonical import canonical_json
from gati_compiler.config import GatiConfig, load_config, settings_for_runtime
from gati_compiler.diagnostics import codes
from gati_compiler.diagnostics.model import Diagnostic, DiagnosticSink, Severity, Span
from gati_compiler.stages._pool import default_jobs
from gati_compiler.stages.discover import SourceSet, discover_in_files, discover_sources, is_entry
from gati_compiler.stages.facts import ModuleFacts, dump_facts
from gati_compiler.stages.parse import SourceFile, parse_sources
from gati_compiler.stages.report import Reporter
from gati_compiler.stages.resolve import imported_modules, resolve_project
from gati_compiler.writer import MANIFEST, ArtifactWriter, WriteReport, read_previous_artifacts

if TYPE_CHECKING:
    from gati_compiler.cache.store import BuildCache, Incremental
    from gati_compiler.emit._sdk_versions import SdkVersions
    from gati_compiler.ir.models import Program
    from gati_compiler.timescape.lock import Lock, Version
    from gati_compiler.timescape.record import RecordRequest
    from gati_compiler.timescape.steps import BoundStep, Timeline

    _Timescape = tuple[Timeline, dict[tuple[str, str], BoundStep]]


def _later_stages() -> None:
    """Import lower and emit (with jinja2 and the IR models): a fifth of start-up. The pipeline
    does it while the parse workers run, when this process would only wait; forked emit workers
    then inherit the modules too."""
    import gati_compiler.emit.openapi
    import gati_compiler.emit.sdk_python
    import gati_compiler.emit.sdk_ts
    import gati_compiler.emit.validators
    import gati_compiler.stages.lower  # noqa: F401


Dump = Literal["facts", "resolved", "ir"]
PARALLEL_MIN_FILES: Final = 24
CONFIG_FILES: Final = ("pyproject.toml", "gati.toml")
T = TypeVar("T")


class GatiError(Exception):
    """A failure of gati itself (never a user mistake: those are diagnostics)."""


@dataclass
class BuildResult:
    """What a build produced: diagnostics always; the program and artifacts when it got that far."""

    project_dir: Path
    diagnostics: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    config: GatiConfig | None = None
    program: Program | None = None
    # the program as lowered even when it has errors (for tools that attribute diagnostics to types)
    lowered: Program | None = None
    artifacts: dict[str, bytes] = field(default_factory=dict)
    written: WriteReport | None = None
    dump: str | None = None
    lock: Lock | None = None  # the Timescape lock the build used (after recording, if it did)
    recorded: Version | None = None  # the version this build recorded and saved
    record_error: str | None = None  # why `gatic version record` was refused
    # the Timescape timeline and the transformers bound to its steps (None without recorded versions)
    timescape: _Timescape | None = None
    # what the build cache saved this build (None when the build stopped before parsing, or
    # analysed a tree that is not the working folder)
    incremental: Incremental | None = None

    @property
    def ok(self) -> bool:
        return not any(d.severity is Severity.ERROR for d in self.diagnostics)

    @property
    def internal_error(self) -> bool:
        return any(d.code == codes.INTERNAL_ERROR.id for d in self.diagnostics)


ParseCache = dict[tuple[str, str, str], ModuleFacts]
"""Facts of files already parsed in this process, by (path, module, content hash)."""


def _parse_reachable(
    sources: SourceSet,
    cfg: GatiConfig,
    sink: DiagnosticSink,
    jobs: int,
    cache: BuildCache | None = None,
    memo: ParseCache | None = None,
) -> list[ModuleFacts]:
    """Parse the entry files, then, round by round, the project modules they import; with a
    build `cache`, only the files whose facts it does not hold. A file found in `memo` (facts
    parsed earlier in this process) with the same content is not parsed again either."""
    by_module = sources.by_module()
    known = frozenset(by_module)
    todo = [s for s in sources.files if is_entry(s, cfg.global_hooks)]
    parsed: dict[str, ModuleFacts] = {}
    wanted: set[str] = set()
    while todo:

        def parse(batch: Sequence[SourceFile]) -> list[ModuleFacts]:
            found: list[ModuleFacts] = []
            if memo is not None:
                hits = [memo[k] for s in batch if (k := (s.rel_path, s.module, s.sha256)) in memo]
                for facts in hits:
                    sink.extend(facts.diagnostics)
                found.extend(hits)
                batch = [s for s in batch if (s.rel_path, s.module, s.sha256) not in memo]
            batch_jobs = jobs if len(batch) >= PARALLEL_MIN_FILES else 1
            fresh = parse_sources(batch, sink, jobs=batch_jobs, while_waiting=_later_stages) if batch else []
            if memo is not None:
                for src, facts in zip(batch, fresh, strict=True):
                    memo[(src.rel_path, src.module, src.sha256)] = facts
            return [*found, *fresh]

        for facts in parse(todo) if cache is None else cache.parse(todo, sink, parse):
            parsed[facts.module] = facts
            wanted |= imported_modules(facts, known)
        todo = [by_module[m] for m in sorted(wanted - parsed.keys())]
    return [parsed[m] for m in sorted(parsed)]


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _guarded(sink: DiagnosticSink, what: str, fn: Callable[[], T]) -> T | None:
    """Run a stage; a crash of gati itself becomes a GATI900 diagnostic instead of a traceback."""
    try:
        return fn()
    except Exception as exc:
        sink.emit(
            codes.INTERNAL_ERROR,
            f"internal error while {what}: {type(exc).__name__}: {exc}",
            Span.point("<gati>"),
            notes=tuple(traceback.format_exc().rstrip().splitlines()[-12:]),
            help="this is a gati bug; please report it with the notes above",
        )
        return None


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a build runs. A build allocates hundreds of thousands of
    long-lived objects (facts, IR, generated lines) and makes almost no reference cycles (peak
    memory is the same either way), so every collection pass would scan live objects for nothing:
    measured, about 70 ms of this process's time on a 200-module app. Collection comes back as it
    was afterwards (`gatic watch` builds again and again in one process)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def build(
    project_dir: Path | str,
    *,
    write: bool = True,
    jobs: int | None = None,
    dump: Dump | None = None,
    record: RecordRequest | None = None,
    cache: BuildCache | None = None,
) -> BuildResult:
    """Run the whole pipeline on the project in `project_dir`.

    Parameters:
        project_dir: the app folder (holding `pyproject.toml` or `gati.toml`).
        write: write the artifacts into the build folder (False for `gatic check`).
        jobs: worker processes for parsing; default: the usable cores.
        dump: stop after that stage and return its canonical JSON in `BuildResult.dump`.
        record: record a Timescape version (saved to the lock only when the build succeeds);
            without it, a build with `auto_record` on records one when the contract changed.
        cache: a build cache kept in memory between builds (`gatic watch`); by default the one
            in the build folder is read (see `gati_compiler.cache`).

    Returns:
        A `BuildResult`; `ok` is False when any error diagnostic was reported.
    """
    with _gc_paused():
        return _build(Path(project_dir), write=write, jobs=jobs, dump=dump, record=record, given_cache=cache)


def analyse(
    project_dir: Path | str,
    *,
    files: Mapping[str, bytes] | None = None,
    jobs: int | None = None,
    parse_cache: ParseCache | None = None,
) -> BuildResult:
    """Config → discover → parse → resolve → lower, and nothing written or emitted: the program
    of the project in `project_dir`, or of `files` (POSIX relative path → bytes) standing for
    that folder, such as a git tree read without a checkout. `parse_cache` shares parsed files
    between analyses of two trees in one process."""
    with _gc_paused():
        return _build(Path(project_dir), write=False, jobs=jobs, dump=None, files=files, memo=parse_cache, lower=True)


def _build(
    root: Path,
    *,
    write: bool,
    jobs: int | None,
    dump: Dump | None,
    files: Mapping[str, bytes] | None = None,
    memo: ParseCache | None = None,
    lower: bool = False,
    record: RecordRequest | None = None,
    given_cache: BuildCache | None = None,
) -> BuildResult:
    result = BuildResult(project_dir=root)
    sink = DiagnosticSink()

    def finish() -> BuildResult:
        result.diagnostics = sink.diagnostics
        return result

    cfg = load_config(root, sink, files)
    result.config = cfg
    # the configuration files are sources too: their diagnostics render with a frame
    if files is not None:
        config_texts = {n: files[n].decode("utf-8", "replace") for n in CONFIG_FILES if n in files}
        result.sources = dict(config_texts)
    else:
        config_read = {name: _read_text(root / name) for name in CONFIG_FILES if (root / name).is_file()}
        result.sources = {k: v for k, v in config_read.items() if v is not None}
    if cfg is None:
        return finish()
    from gati_compiler.cache import incremental
    from gati_compiler.cache.index import config_digests

    if files is not None or lower:
        # a tree that is not the working folder (a git ref), or `analyse`: no build cache
        cache = None
        sources = (
            discover_in_files(files, cfg.sources, cfg.exclude, cfg.out, sink)
            if files is not None
            else discover_sources(root, cfg.sources, cfg.exclude, cfg.out, sink)
        )
    else:
        # incremental builds (gati_compiler/cache): the cache is opened before discovery
        cache = incremental.open_cache(root, cfg, sink, given_cache, write=write)
        result.incremental = cache.report
        sources = discover_sources(root, cfg.sources, cfg.exclude, cfg.out, sink)
    result.sources.update(sources.texts())
    workers = jobs if jobs is not None else default_jobs()

    facts = _guarded(sink, "parsing", lambda: _parse_reachable(sources, cfg, sink, workers, cache))
    if facts is None:
        return finish()
    graph = incremental.note_sources(cache, sources, facts) if cache is not None else None
    # a build that records a version must run the Timescape stage, so it never reuses a program
    reuse = cache is not None and write and dump is None and record is None
    # the configuration files' and the lock's digests: read once, for both cache keys
    inputs: dict[str, str | None] = config_digests(root) if cache is not None and write else {}
    lower_key = incremental.lower_key(cache, root, cfg, sources, facts, inputs) if cache is not None and reuse else ""
    if cache is not None and graph is not None and lower_key and not sink.has_errors:
        again = incremental.reuse_everything(cache, root, cfg, sources, graph, lower_key, sink, result.sources)
        if again is not None:  # the same inputs as the last clean build, whose output is intact
            result.program, result.artifacts = again
            result.written = WriteReport(unchanged=sorted(again[1]))
            return finish()
    if dump == "facts":
        result.dump = canonical_json([dump_facts(f) for f in facts])
        return finish()
    project = resolve_project(facts, known_modules=sources.by_module())
    if dump == "resolved":
        resolved: dict[str, JsonValue] = {}
        for m in facts:
            imports: dict[str, JsonValue] = {
                i.local: f"{'.' * i.level}{i.module}" + (f":{i.name}" if i.name else "") for i in m.imports
            }
            names = {*(c.name for c in m.classes), *(f.name for f in m.functions), *(a.name for a in m.aliases)}
            defines: list[JsonValue] = list(sorted(names))
            resolved[m.module] = {"imports": imports, "defines": defines}
        result.dump = canonical_json(resolved)
        return finish()
    _later_stages()  # a no-op unless parsing ran in this process only
    from gati_compiler.stages.lower import LowerOptions, lower_program

    reporter = Reporter(sink, result.sources)
    options = LowerOptions(app=cfg.name, source_roots=sources.import_roots, global_hooks=cfg.global_hooks)
    program = _guarded(sink, "lowering", lambda: lower_program(project, options, reporter))
    result.lowered = program
    if program is None or sink.has_errors:
        return finish()
    if lower:  # `analyse`: the lowered program as the sources say, without the lock's versions
        result.program = program
        return finish()
    from gati_compiler.timescape.record import RecordRequest
    from gati_compiler.timescape.stage import clock_tsv, timescape_step

    if record is None and cfg.timescape.auto_record and write and dump is None:
        record = RecordRequest(at=clock_tsv(), auto=True)
    lowered = program
    step = _guarded(sink, "reading the Timescape lock", lambda: timescape_step(cfg, lowered, sink, record))
    lock_file = cfg.timescape.lock.replace("\\", "/")
    if any(d.span.path == lock_file for d in sink.diagnostics):  # render the lock's lines in frames
        lock_text = _read_text(root / lock_file)
        if lock_text is not None:
            result.sources[lock_file] = lock_text
    if step is None or sink.has_errors or step.record_error is not None:
        if step is not None:
            result.record_error = step.record_error
        return finish()
    program = step.program
    pieces = None
    if cache is not None and cache is given_cache and write and dump is None:
        from gati_compiler.emit.memo import EmitMemo

        # the previous build's object wherever an IR object is the same, for emitted pieces; only
        # for a cache kept in memory between builds (`gatic watch`): a one-off build has no last
        # build to share with, and keeping its pieces would only cost time
        pieces = cache.memo = cache.memo or EmitMemo()
        program = pieces.intern(program)
    result.lock = step.lock
    result.program = program
    # Timescape: the timeline of the lock's versions and the transformers bound to its steps
    timescape = _guarded(sink, "binding the Timescape transformers", lambda: _bind_timescape(step.lock, program, sink))
    result.timescape = timescape
    if any(d.severity is Severity.ERROR for d in sink.diagnostics):  # the binding's (mypy narrows has_errors)
        return finish()
    if dump == "ir":
        from gati_compiler.ir.canonical import dump_ir

        result.dump = canonical_json(dump_ir(program))
        return finish()
    out_dir = root / cfg.out
    project_root = Path(os.path.relpath(root.resolve(), out_dir.resolve())).as_posix()
    settings = settings_for_runtime(cfg)
    writer: ArtifactWriter | None = None
    emit_key = ""
    content_hash: str | None = None
    if write and cache is not None and graph is not None and step.recorded is None:
        from gati_compiler.emit.manifest import program_content_hash

        content_hash = program_content_hash(program, pieces)
        # what emission reads besides the program: the lock's versions (manifest rows, the
        # bundle's Deployments) and the whole configuration (the bundle reads `[tool.gati.deploy]`)
        content = canonical_json(
            {
                "program": content_hash,
                "versions": step.versions,
                "config": dict[str, JsonValue](inputs),
            }
        )
        emit_key, reused = incremental.reusable(cache, content, project_root, settings)
        if reused is not None:  # the artifacts on disk are this build's, byte for byte
            cache.report.emitted = False
            result.artifacts = reused
            result.written = WriteReport(unchanged=sorted(reused))
            pair = (lower_key, program)
            incremental.record(cache, root, cfg, sources, graph, reused, emit_key, pair, sink, result.sources)
            return finish()
    if write:
        previous, problem = read_previous_artifacts(out_dir)
        if problem is not None:
            sink.emit(
                codes.PREVIOUS_BUILD_CORRUPT,
                problem,
                Span.point(f"{cfg.out}/{MANIFEST}"),
                help="delete the build folder if it holds files that are no longer produced",
            )
        if previous:
            previous.append(MANIFEST)
        known = cache.known_artifacts() if cache is not None else None
        writer = ArtifactWriter(out_dir, previous=previous, known=known)
    from gati_compiler.deploy import emit_bundle, live_versions
    from gati_compiler.emit import emit_all
    from gati_compiler.emit._sdk_versions import sdk_versions

    versioned = sdk_versions(step.lock, program)  # each live version as a Program, for the SDKs and Timescape
    # the writer takes each artifact family as soon as it is rendered; the manifest comes last
    on_ready = writer.put if writer is not None else None
    artifacts = _guarded(
        sink,
        "emitting",
        lambda: emit_all(
            program,
            project_root=project_root,
            settings=settings,
            jobs=workers,
            on_ready=on_ready,
            versions=step.versions,
            late=lambda done: {
                **_timescape_artifacts(timescape, program, settings, versioned),
                **emit_bundle(program, cfg, done, live_versions(step.lock)),
            },
            sdk_versions=versioned,  # the SDKs' clients of every live version
            content_hash=content_hash,
            memo=pieces,
        ),
    )
    if pieces is not None:
        pieces.end_build()
    if artifacts is None:
        return finish()
    result.artifacts = artifacts
    if step.recorded is not None and step.lock is not None:
        from gati_compiler.timescape.lock import save_lock

        save_lock(step.lock, root / cfg.timescape.lock)  # only once the build has succeeded
        result.recorded = step.recorded
    if writer is not None:
        result.written = writer.finish(artifacts[MANIFEST])
        if cache is not None and graph is not None:
            pair = (lower_key, program)
            incremental.record(cache, root, cfg, sources, graph, artifacts, emit_key, pair, sink, result.sources)
    return finish()


def _bind_timescape(lock: Lock | None, program: Program, sink: DiagnosticSink) -> _Timescape | None:
    """The timeline of a lock with versions and the transformers bound to its steps; None without."""
    if lock is None or not lock.versions:
        return None
    from gati_compiler.timescape.contract import contract_from_program
    from gati_compiler.timescape.steps import timeline
    from gati_compiler.timescape.transformers import bind_transformers

    tl = timeline(lock, contract_from_program(program))
    return tl, bind_transformers(tl, program.transformers, sink)


def _timescape_artifacts(
    timescape: _Timescape | None, program: Program, settings: Mapping[str, JsonValue], versioned: SdkVersions | None
) -> dict[str, bytes]:
    """The per-version types, validators and OpenAPI documents and `timescape/serving.json`."""
    if timescape is None:
        return {}
    from gati_compiler.emit import generated_header
    from gati_compiler.timescape.emit_serving import emit_timescape

    tl, bound = timescape
    programs = {v.tsv: v.program for v in versioned.versions} if versioned is not None else None
    header = generated_header(f"the `{program.app}` sources")
    return emit_timescape(tl, bound, program, settings, header=header, programs=programs)


def check(project_dir: Path | str, *, jobs: int | None = None) -> BuildResult:
    """The CI gate: every stage runs, nothing is written, and artifacts on disk must be current."""
    result = build(project_dir, write=False, jobs=jobs)
    if not result.ok or result.config is None:
        return result
    from gati_compiler.cache.stale import report_stale

    extra = DiagnosticSink()
    from gati_compiler.timescape.check import transformer_gate

    transformer_gate(result, extra)
    if result.timescape is not None and not extra.has_errors and result.program is not None:
        from gati_compiler.timescape.verify import verify_transformers

        verify_transformers(
            result.program,
            result.timescape[1],
            project_dir=Path(project_dir),
            source_roots=result.program.sourceRoots,
            sink=extra,
        )
    report_stale(Path(project_dir), result.config.out, result.artifacts, result.sources, extra)
    result.diagnostics = sorted([*result.diagnostics, *extra.diagnostics], key=lambda d: (d.sort_key, d.message))
    return result
