"""The pipeline's use of the build cache, kept here so `pipeline.py` only calls in at four points:
open (and report an untrusted cache), parse through it, decide whether emit can be skipped, and
record the build that was written."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from pydantic import JsonValue

from gati_compiler.cache.graph import ModuleGraph
from gati_compiler.cache.index import walked_dirs
from gati_compiler.cache.store import BuildCache
from gati_compiler.config import GatiConfig
from gati_compiler.diagnostics import codes
from gati_compiler.diagnostics.model import DiagnosticSink, Span
from gati_compiler.stages.discover import SourceSet
from gati_compiler.stages.facts import ModuleFacts
from gati_compiler.stages.resolve import imported_modules

if TYPE_CHECKING:
    from gati_compiler.ir.models import Program


def open_cache(
    root: Path, cfg: GatiConfig, sink: DiagnosticSink, given: BuildCache | None, *, write: bool
) -> BuildCache:
    """`given` (the watch loop's, kept in memory) when it belongs to this build folder, else the
    cache on disk. A cache that cannot be trusted is reported once, as a warning, and dropped.
    A writing build creates the build folder first: that changes its parent's mtime, which the
    index must record as it will be."""
    out_dir = root / cfg.out
    if write:
        out_dir.mkdir(parents=True, exist_ok=True)
    cache = given if given is not None and given.out_dir == out_dir else BuildCache.load(out_dir)
    # taken before discovery reads anything: a file added while this build runs is seen next time
    cache.dirs_before = walked_dirs(root, list(cfg.sources), cfg.out)
    report = cache.begin()
    if report.problem is not None:
        _report(cache, cfg, sink, report.problem)
    return cache


def _report(cache: BuildCache, cfg: GatiConfig, sink: DiagnosticSink, problem: str) -> None:
    where = f"{cfg.out}/{cache.problem_file}"
    sink.emit(
        codes.BUILD_CACHE_CORRUPT,
        f"the build cache `{where}` cannot be trusted: {problem}; building everything",
        Span.point(where),
        help="nothing to do: this build replaces the cache (delete the folder to silence this for good)",
    )


def module_graph(facts: Sequence[ModuleFacts], sources: SourceSet) -> ModuleGraph:
    known = frozenset(sources.by_module())
    return ModuleGraph.from_edges({f.module: imported_modules(f, known) for f in facts})


def note_sources(cache: BuildCache, sources: SourceSet, facts: Sequence[ModuleFacts]) -> ModuleGraph:
    graph = module_graph(facts, sources)
    cache.note_sources(
        {s.rel_path: s.sha256 for s in sources.files}, graph, {s.rel_path: s.module for s in sources.files}
    )
    return graph


def lower_key(
    cache: BuildCache,
    root: Path,
    cfg: GatiConfig,
    sources: SourceSet,
    facts: Sequence[ModuleFacts],
    inputs: Mapping[str, str | None],
) -> str:
    """The digest of everything resolve, lower and emit read ('' when it cannot be computed).
    `inputs`: the digests of the configuration files and the lock (`index.config_digests`)."""
    from gati_compiler.config import settings_for_runtime

    out_dir = root / cfg.out
    options = {
        "app": cfg.name,
        "sources": list(cfg.sources),
        "global_hooks": list(cfg.global_hooks),
        "settings": settings_for_runtime(cfg),
        "project_root": Path(os.path.relpath(root.resolve(), out_dir.resolve())).as_posix(),
        "inputs": dict(inputs),
    }
    return cache.lower_key(facts, sources.files, options) or ""


def reuse_everything(
    cache: BuildCache,
    root: Path,
    cfg: GatiConfig,
    sources: SourceSet,
    graph: ModuleGraph,
    key: str,
    sink: DiagnosticSink,
    texts: Mapping[str, str],
) -> tuple[Program, dict[str, bytes]] | None:
    """The last build's program and artifacts when this build would read exactly what it read
    (same facts, modules, options and settings), it had no error and its artifacts are intact;
    its warnings are reported again, and the build is recorded as done."""
    program = cache.previous_program(key)
    if cache.problem is not None:
        _report(cache, cfg, sink, cache.problem)
        cache.problem = None
    if program is None or cache.index is None:
        return None
    emit_key = cache.index.emit_key
    artifacts = cache.reusable_artifacts(emit_key)
    if artifacts is None:
        return None
    from gati_compiler.diagnostics.model import Diagnostic

    seen = set(map(_identity, sink.diagnostics))
    for raw in cache.index.diagnostics:  # what the later stages said last time, said again
        diag = Diagnostic.model_validate(raw)
        if _identity(diag) not in seen:
            sink.extend([diag])
    cache.report.lowered = False
    cache.report.emitted = False
    record(cache, root, cfg, sources, graph, artifacts, emit_key, (key, program), sink, texts)
    return program, artifacts


# about this one build, not about the sources: said by the build that met them, never again
_SAID_ONCE: Final = frozenset(
    {codes.BUILD_CACHE_CORRUPT.id, codes.PREVIOUS_BUILD_CORRUPT.id, codes.VERSION_RECORDED.id}
)


def _identity(diag: Any) -> str:
    return str(diag.model_dump_json())


def reusable(
    cache: BuildCache, content_hash: str, project_root: str, settings: Mapping[str, JsonValue]
) -> tuple[str, dict[str, bytes] | None]:
    """The emit key of this build, and the artifacts on disk if they are exactly what it would emit."""
    key = cache.emit_key(content_hash, project_root, settings)
    return key, cache.reusable_artifacts(key)


def record(
    cache: BuildCache,
    root: Path,
    cfg: GatiConfig,
    sources: SourceSet,
    graph: ModuleGraph,
    artifacts: Mapping[str, bytes],
    emit_key: str,
    lower: tuple[str, Program],
    sink: DiagnosticSink,
    texts: Mapping[str, str],
) -> None:
    """Save the facts this build parsed, its program (when it had no error) and the index of what
    it wrote, with its warnings (as JSON, and as text for the no-op check to print again)."""
    from gati_compiler.diagnostics.render import render_text

    clean = not sink.has_errors
    kept = [d for d in sink.diagnostics if d.code not in _SAID_ONCE]
    cache.save_facts()
    key, program = lower
    if clean and key:
        cache.save_program(program, key)
    summary = f"{len(program.handlers)} handlers, {len(program.modules)} modules, {len(program.gtypes)} types"
    cache.save_index(
        root,
        out=cfg.out,
        sources=list(cfg.sources),
        dirs=cache.dirs_before,
        files={s.rel_path: s.sha256 for s in sources.files},
        modules={s.rel_path: s.module for s in sources.files},
        graph=graph,
        artifacts=artifacts,
        emit_key=emit_key,
        lower_key=key if clean else "",
        summary=summary,
        clean=clean,
        diagnostics=[d.model_dump(mode="json") for d in kept] if clean else [],
        rendered=render_text(kept, texts) if clean and kept else "",
    )
