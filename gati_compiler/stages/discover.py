"""Discover: the filesystem → the project's Python sources.

Input: the project root, its configured source folders and exclude globs. Output: a
`SourceSet` of `SourceFile`s sorted by POSIX relative path, with dotted module names. This stage
and the writer are the only ones that touch the disk. Unreadable files become diagnostics.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Final

from gati_compiler.diagnostics import codes
from gati_compiler.diagnostics.model import DiagnosticSink, Span
from gati_compiler.stages.parse import SourceFile

SKIP_DIRS: Final = frozenset(
    {"__pycache__", "node_modules", "venv", ".venv", "env", "build", "dist", "site-packages", ".gati", ".git"}
)
RUNTIME_MARKER: Final = "gati_runtime_min"


@dataclass(frozen=True)
class SourceSet:
    files: tuple[SourceFile, ...]
    # the folders module names are relative to (POSIX, relative to the project when inside it),
    # in the order of the configured sources: what the runtime puts on `sys.path`
    import_roots: tuple[str, ...] = (".",)

    def by_module(self) -> dict[str, SourceFile]:
        return {f.module: f for f in self.files}

    def texts(self) -> dict[str, str]:
        return {f.rel_path: f.text for f in self.files}


def _module_name(rel_to_root: Path) -> tuple[str, bool] | None:
    parts = list(rel_to_root.with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    if not parts or not all(p.isidentifier() for p in parts):
        return None
    return ".".join(parts), is_package


def _import_root(folder: Path) -> Path:
    """The folder module names are relative to, by mypy's rule: a source folder that is itself a
    package (it has `__init__.py`) is named after itself, so the import root is the nearest
    ancestor that is not a package; a plain folder (`src/`) is an import root."""
    root = folder
    while (root / "__init__.py").is_file() and root.parent != root:
        root = root.parent
    return root


def _relative(folder: Path, project: Path) -> str:
    if folder.is_relative_to(project):
        return folder.relative_to(project).as_posix() or "."
    return os.path.relpath(folder, project).replace(os.sep, "/")


def discover_sources(
    project: Path, roots: Sequence[str], exclude: Sequence[str], out: str, sink: DiagnosticSink
) -> SourceSet:
    """Every `.py` file under the source roots, sorted, with module names relative to its root."""
    found: dict[str, SourceFile] = {}
    import_roots: list[str] = []
    out_dir = (project / out).resolve()
    for root in roots:
        base = (project / root).resolve()
        if not base.is_dir():
            continue  # the config stage reports missing roots
        import_root = _import_root(base)
        shown = _relative(import_root, project.resolve())
        if shown not in import_roots:
            import_roots.append(shown)
        for dirpath, dirnames, filenames in os.walk(base):
            here = Path(dirpath)
            dirnames[:] = sorted(
                d for d in dirnames if d not in SKIP_DIRS and not d.startswith(".") and (here / d).resolve() != out_dir
            )
            for filename in sorted(filenames):
                if not filename.endswith(".py"):
                    continue
                path = here / filename
                rel = (
                    path.relative_to(project.resolve()).as_posix()
                    if path.is_relative_to(project.resolve())
                    else path.as_posix()
                )
                if any(fnmatch.fnmatch(rel, pattern) for pattern in exclude) or rel in found:
                    continue
                named = _module_name(path.relative_to(import_root))
                if named is None:
                    continue
                src = _source_file(rel, named, path.read_bytes(), sink)
                if src is not None:
                    found[rel] = src
    return SourceSet(tuple(found[k] for k in sorted(found)), tuple(import_roots) or (".",))


def _source_file(rel: str, named: tuple[str, bool], data: bytes, sink: DiagnosticSink) -> SourceFile | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        sink.emit(
            codes.FILE_UNREADABLE,
            f"`{rel}` is not valid UTF-8 (byte {exc.start})",
            Span.point(rel),
            help="save the file as UTF-8",
        )
        return None
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    return SourceFile(rel, named[0], named[1], text, hashlib.sha256(data).hexdigest())


def _import_root_in(files: Mapping[str, bytes], folder: PurePosixPath) -> PurePosixPath:
    """`_import_root` for a project held in memory."""
    root = folder
    while root.parts and (root / "__init__.py").as_posix() in files:
        root = root.parent
    return root


def discover_in_files(
    files: Mapping[str, bytes], roots: Sequence[str], exclude: Sequence[str], out: str, sink: DiagnosticSink
) -> SourceSet:
    """`discover_sources` over a project held in memory (POSIX relative path → bytes), such as
    the tree of a git commit: the same roots, skipped folders, excludes, import roots and module
    names."""
    found: dict[str, SourceFile] = {}
    import_roots: list[str] = []
    out_prefix = PurePosixPath(out).as_posix().strip("/") + "/"
    for root in roots:
        folder = PurePosixPath(PurePosixPath(root).as_posix().strip("/") or ".")
        base = "" if folder.as_posix() == "." else folder.as_posix() + "/"
        import_root = _import_root_in(files, folder)
        shown = import_root.as_posix() or "."
        if shown not in import_roots:
            import_roots.append(shown)
        for rel in sorted(files):
            if not rel.endswith(".py") or not rel.startswith(base) or rel.startswith(out_prefix) or rel in found:
                continue
            inner = PurePosixPath(rel[len(base) :])
            if any(d in SKIP_DIRS or d.startswith(".") for d in inner.parts[:-1]):
                continue
            if any(fnmatch.fnmatch(rel, pattern) for pattern in exclude):
                continue
            named = _module_name(Path(PurePosixPath(rel).relative_to(import_root)))
            if named is None:
                continue
            src = _source_file(rel, named, files[rel], sink)
            if src is not None:
                found[rel] = src
    return SourceSet(tuple(found[k] for k in sorted(found)), tuple(import_roots) or (".",))


def is_entry(src: SourceFile, global_hooks: Sequence[str]) -> bool:
    """Files analysed unconditionally: those that use the runtime, and global hook modules.

    Everything else is parsed only when one of these imports it.
    """
    return RUNTIME_MARKER in src.text or src.module in global_hooks
