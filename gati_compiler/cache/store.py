"""`BuildCache`: the persistent cache of a build folder, and what the pipeline asks of it.

On disk, under `<out>/.cache/`: `index.bin` (see `cache.index`) and `facts/<key>.bin`, the parse
facts of one source file keyed by the SHA-256 of the compiler fingerprint, its path, module name
and bytes. A build parses only the files whose key is not there; resolve and lower run on the
whole program (they take a tenth of a cold build) and emit is skipped when the lowered program,
the settings and the compiler are those of the build whose artifacts are on disk, unchanged.

Trust: every file is framed and checksummed (`cache.blob`). If any of them cannot be trusted the
whole cache is dropped, reported once (GATI403) and the build runs in full; a cache is never
half-used. The payload is a pickle of the compiler's own facts: the cache is as trusted as the
generated code next to it, which the runtime imports.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gati_compiler.cache import blob
from gati_compiler.cache.graph import ModuleGraph
from gati_compiler.cache.index import (
    CACHE_DIR,
    Index,
    artifact_record,
    artifacts_current,
    compiler_fingerprint,
    config_digests,
    read_index,
    write_index,
)

if TYPE_CHECKING:
    from gati_compiler.diagnostics.model import DiagnosticSink
    from gati_compiler.emit.memo import EmitMemo
    from gati_compiler.ir.models import Program
    from gati_compiler.stages.facts import ModuleFacts
    from gati_compiler.stages.parse import SourceFile


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


FACTS_DIR = "facts"
FACTS_KIND = "facts"
PROGRAM_FILE = "program.bin"
PROGRAM_KIND = "program"


@dataclass
class Incremental:
    """What one build did with the cache (the watch loop prints it)."""

    full: bool = True  # no usable cache: everything was analysed
    reanalysed: list[str] = field(default_factory=list)  # files parsed by this build
    reused: int = 0  # files whose facts came from the cache
    changed: list[str] = field(default_factory=list)  # sources added, edited or removed since the last build
    affected: list[str] = field(default_factory=list)  # modules whose resolved types may differ
    emitted: bool = True  # False when the artifacts on disk were current and reused
    lowered: bool = True  # False when the facts were those of the last build: nothing resolved or lowered
    problem: str | None = None  # why the cache on disk was not trusted


class BuildCache:
    """The cache of one build folder. `gatic watch` keeps one in memory between builds."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.fingerprint = compiler_fingerprint()
        self.facts: dict[str, ModuleFacts] = {}
        self.on_disk: set[str] = set()
        self.index: Index | None = None
        self.problem: str | None = None
        self.problem_file: str | None = None
        self.report = Incremental()
        self.dirs_before: dict[str, int] = {}
        self.digests: dict[str, str] = {}  # facts key -> SHA-256 of its pickled facts
        self._payloads: dict[str, bytes] = {}  # pickled facts parsed by this process, not yet saved
        self.program: Program | None = None  # the lowered program of the build in `index`
        self._used: dict[str, ModuleFacts] = {}
        # `gatic watch` keeps the cache in memory and sets `defer`: the program is pickled to disk
        # by `flush`, after the build has been written and served, not while the developer waits
        self.defer = False
        self._pending: tuple[str, Program] | None = None
        # the bytes of every artifact of the build in `index` with its SHA-256, as written: a
        # rebuild hashes only what changed, and reuses them without reading the build folder
        self.written: dict[str, tuple[bytes, str]] = {}
        # the IR objects and emitted pieces of the last build (in memory only; made on first use)
        self.memo: EmitMemo | None = None

    @property
    def folder(self) -> Path:
        return self.out_dir / CACHE_DIR

    @classmethod
    def load(cls, out_dir: Path) -> BuildCache:
        """Read the cache in `out_dir`; an untrusted one is dropped whole and `problem` says why."""
        cache = cls(out_dir)
        try:
            cache.index = read_index(out_dir)
        except blob.CacheProblem as exc:
            cache._drop(f"{CACHE_DIR}/index.bin", str(exc))
            return cache
        facts_dir = cache.folder / FACTS_DIR
        try:
            names = sorted(p.name for p in facts_dir.iterdir())
        except FileNotFoundError:
            names = []
        except OSError as exc:
            cache._drop(f"{CACHE_DIR}/{FACTS_DIR}", str(exc))
            return cache
        for name in names:
            if not name.endswith(".bin"):
                continue
            key = name.removesuffix(".bin")
            rel = f"{CACHE_DIR}/{FACTS_DIR}/{name}"
            try:
                payload = blob.read(facts_dir / name, FACTS_KIND)
                if payload is None:  # removed meanwhile by another build
                    continue
                facts = pickle.loads(payload)
                cache.digests[key] = hashlib.sha256(payload).hexdigest()
            except blob.CacheProblem as exc:
                cache._drop(rel, str(exc))
                return cache
            except Exception as exc:  # a checksummed pickle that still does not load: not ours
                cache._drop(rel, f"its content cannot be loaded ({type(exc).__name__})")
                return cache
            cache.facts[key] = facts
            cache.on_disk.add(key)
        return cache

    def _drop(self, rel: str, message: str) -> None:
        self.problem = message
        self.problem_file = rel
        self.facts.clear()
        self.on_disk.clear()
        self.digests.clear()
        self.index = None

    def begin(self) -> Incremental:
        """Start a build: a fresh report; the problem found on loading is reported by this build only."""
        self.report = Incremental(full=not self.facts, problem=self.problem)
        self.problem = None
        self._used = {}
        return self.report

    def key(self, src: SourceFile) -> str:
        h = hashlib.sha256()
        h.update(f"{self.fingerprint}\0{src.rel_path}\0{src.module}\0{int(src.is_package)}\0".encode())
        h.update(src.sha256.encode())
        return h.hexdigest()

    def parse(
        self,
        todo: Sequence[SourceFile],
        sink: DiagnosticSink,
        parse: Callable[[Sequence[SourceFile]], list[ModuleFacts]],
    ) -> list[ModuleFacts]:
        """Facts of `todo` in order: from the cache where the key is there, else by `parse`
        (which reports its own diagnostics); the cached ones' diagnostics are reported here."""
        keys = [self.key(src) for src in todo]
        missing = [src for src, k in zip(todo, keys, strict=True) if k not in self.facts]
        fresh = iter(parse(missing)) if missing else iter(())
        out: list[ModuleFacts] = []
        for src, k in zip(todo, keys, strict=True):
            cached = self.facts.get(k)
            if cached is None:
                cached = next(fresh)
                self.facts[k] = cached
                payload = pickle.dumps(cached, protocol=pickle.HIGHEST_PROTOCOL)
                self._payloads[k] = payload
                self.digests[k] = hashlib.sha256(payload).hexdigest()
                self.report.reanalysed.append(src.rel_path)
            else:
                sink.extend(cached.diagnostics)
                self.report.reused += 1
            self._used[k] = cached
            out.append(cached)
        return out

    def note_sources(self, files: Mapping[str, str], graph: ModuleGraph, modules: Mapping[str, str]) -> None:
        """Compare the discovered sources (rel path -> sha256) with the last build's and record
        what changed and which modules that affects."""
        before = self.index.files if self.index is not None else {}
        changed = sorted(
            {rel for rel, digest in files.items() if before.get(rel) != digest} | (before.keys() - files.keys())
        )
        self.report.changed = changed
        old_modules = self.index.modules if self.index is not None else {}
        touched = {modules.get(rel) or old_modules.get(rel) for rel in changed} - {None}
        self.report.affected = sorted(graph.affected(m for m in touched if m is not None))

    def lower_key(self, facts: Sequence[ModuleFacts], sources: Sequence[SourceFile], options: object) -> str | None:
        """A digest of everything resolve, lower and emit read: the facts used (by the digest of
        their pickled bytes: equal bytes are equal facts; unequal bytes of equal facts only cost a
        lowering), every discovered module, and the options and settings. None when a fact of
        this build has no digest."""
        h = hashlib.sha256()
        h.update(self.fingerprint.encode())
        h.update(json.dumps(options, sort_keys=True, separators=(",", ":"), default=str).encode())
        for src in sources:
            h.update(f"\0{src.rel_path}\0{src.module}\0{int(src.is_package)}".encode())
        by_rel = {k_facts.rel_path: k for k, k_facts in self._used.items()}
        for f in facts:
            k = by_rel.get(f.rel_path)
            digest = self.digests.get(k) if k is not None else None
            if digest is None:
                return None
            h.update(f"\0{f.rel_path}\0{digest}".encode())
        return h.hexdigest()

    def previous_program(self, lower_key: str) -> Program | None:
        """The lowered program of the last build when its lower key was `lower_key` and it was clean."""
        index = self.index
        if index is None or not index.clean or not lower_key or index.lower_key != lower_key:
            return None
        if self.program is not None:
            return self.program
        try:
            payload = blob.read(self.folder / PROGRAM_FILE, PROGRAM_KIND)
            saved = pickle.loads(payload) if payload is not None else None
        except blob.CacheProblem as exc:  # reported; this build lowers again and replaces it
            self.problem, self.problem_file = str(exc), f"{CACHE_DIR}/{PROGRAM_FILE}"
            return None
        except Exception as exc:
            self.problem = f"its content cannot be loaded ({type(exc).__name__})"
            self.problem_file = f"{CACHE_DIR}/{PROGRAM_FILE}"
            return None
        # the file names the lower key it was saved under: one left behind by a watch that was
        # killed before it saved the program of its last build is never taken for that program
        if not isinstance(saved, tuple) or len(saved) != 2 or saved[0] != lower_key:
            return None
        self.program = saved[1]
        return self.program

    def save_program(self, program: Program, lower_key: str) -> None:
        """Keep the program of the build being recorded; write it now, or on `flush` with `defer`."""
        if self.program is program and self._pending is None:
            return
        self.program = program
        self._pending = (lower_key, program)
        if not self.defer:
            self.flush()

    def flush(self) -> None:
        """Write the program kept by `save_program`, if it is not on disk yet."""
        pending, self._pending = self._pending, None
        if pending is not None:
            payload = pickle.dumps(pending, protocol=pickle.HIGHEST_PROTOCOL)
            blob.write(self.folder / PROGRAM_FILE, PROGRAM_KIND, payload)

    def emit_key(self, content_hash: str, project_root: str, settings: object) -> str:
        h = hashlib.sha256()
        h.update(f"{self.fingerprint}\0{content_hash}\0{project_root}\0".encode())
        h.update(json.dumps(settings, sort_keys=True, separators=(",", ":")).encode())
        return h.hexdigest()

    def reusable_artifacts(self, emit_key: str) -> dict[str, bytes] | None:
        """The artifacts on disk when they are exactly what the build with `emit_key` wrote. The
        bytes this process wrote are taken from memory when every file still has the size and
        mtime it had then (the no-op check's test); others are read and hashed."""
        index = self.index
        if index is None or index.emit_key != emit_key or artifacts_current(self.out_dir, index.artifacts) is not None:
            return None
        out: dict[str, bytes] = {}
        for rel, (_, _, digest) in index.artifacts.items():
            kept = self.written.get(rel)
            if kept is not None and kept[1] == digest:
                out[rel] = kept[0]
                continue
            try:
                data = (self.out_dir / rel).read_bytes()
            except OSError:
                return None
            if hashlib.sha256(data).hexdigest() != digest:
                return None
            out[rel] = data
        return dict(sorted(out.items()))

    def save_facts(self) -> None:
        """Write the facts this build parsed; remove every other file of the facts folder (those no
        build needs any more, and any left over from a cache that was dropped as untrusted)."""
        folder = self.folder / FACTS_DIR
        try:
            present = {p.name for p in folder.iterdir()}
        except FileNotFoundError:
            present = set()
        for k, facts in self._used.items():
            if k not in self.on_disk or f"{k}.bin" not in present:
                payload = self._payloads.get(k) or pickle.dumps(facts, protocol=pickle.HIGHEST_PROTOCOL)
                blob.write(folder / f"{k}.bin", FACTS_KIND, payload)
        for name in sorted(present - {f"{k}.bin" for k in self._used}):
            (folder / name).unlink(missing_ok=True)
        self.on_disk = set(self._used)
        self.facts = dict(self._used)
        self.digests = {k: d for k, d in self.digests.items() if k in self._used}
        self._payloads.clear()

    def known_artifacts(self) -> dict[str, tuple[int, int, bytes]]:
        """Per artifact of the last recorded build whose bytes this process holds: its recorded
        size and mtime and those bytes (for `ArtifactWriter`'s `known`)."""
        index = self.index
        if index is None:
            return {}
        out: dict[str, tuple[int, int, bytes]] = {}
        for rel, (size, mtime_ns, digest) in index.artifacts.items():
            kept = self.written.get(rel)
            if kept is not None and kept[1] == digest:
                out[rel] = (size, mtime_ns, kept[0])
        return out

    def save_index(
        self,
        root: Path,
        *,
        out: str,
        sources: list[str],
        dirs: dict[str, int],
        files: Mapping[str, str],
        modules: Mapping[str, str],
        graph: ModuleGraph,
        artifacts: Mapping[str, bytes],
        emit_key: str,
        lower_key: str,
        summary: str,
        clean: bool,
        diagnostics: list[Any] | None = None,
        rendered: str = "",
    ) -> None:
        """Record the build whose artifacts were just written (see `cache.index`)."""
        written: dict[str, tuple[bytes, str]] = {}
        for rel, data in artifacts.items():
            kept = self.written.get(rel)
            # equal bytes have the same digest: a comparison is many times cheaper than hashing
            digest = kept[1] if kept is not None and (kept[0] is data or kept[0] == data) else _sha256(data)
            written[rel] = (data, digest)
        records = {rel: artifact_record(self.out_dir / rel, digest) for rel, (_, digest) in written.items()}
        self.written = written
        index = Index(
            fingerprint=self.fingerprint,
            config=config_digests(root),
            out=out,
            sources=list(sources),
            dirs=dirs,
            files=dict(files),
            artifacts=records,
            emit_key=emit_key,
            lower_key=lower_key,
            summary=summary,
            clean=clean,
            diagnostics=list(diagnostics or ()),
            rendered=rendered,
            modules=dict(modules),
            graph=graph.to_json(),
        )
        write_index(self.out_dir, index)
        self.index = index
