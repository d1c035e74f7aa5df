"""The pipeline's use of the build cache, kept here so `pipeline.py` only calls in at four points:
open (and report an untrusted cache), parse through it, decide whether emit can be skipped, and
record the build that was written."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

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
        where = f"{cfg.out}/{cache.problem_file}"
        sink.emit(
            codes.BUILD_CACHE_CORRUPT,
            f"the build cache `{where}` cannot be trusted: {report.problem}; building everything",
            Span.point(where),
            help="nothing to do: this build replaces the cache (delete the folder to silence this for good)",
        )
    return cache


def module_graph(facts: Sequence[ModuleFacts], sources: SourceSet) -> ModuleGraph:
    known = frozenset(sources.by_module())
    return ModuleGraph.from_edges({f.module: imported_modules(f, known) for f in facts})


def note_sources(cache: BuildCache, sources: SourceSet, facts: Sequence[ModuleFacts]) -> ModuleGraph:
    graph = module_graph(facts, sources)
    cache.note_sources(
        {s.rel_path: s.sha256 for s in sources.files}, graph, {s.rel_path: s.module for s in sources.files}
    )
    return graph


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
    summary: str,
    clean: bool,
) -> None:
    """Save the facts this build parsed and the index of what it wrote."""
    cache.save_facts()
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
        summary=summary,
        clean=clean,
    )
