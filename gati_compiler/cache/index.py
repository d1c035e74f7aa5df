"""The build index: what the last clean build read and wrote, for the no-op check.

It records the compiler's own fingerprint, the configuration files' digests, the build folder,
every walked source folder's mtime (a file added, removed or renamed changes its folder's mtime),
every source file's SHA-256, every artifact's size, mtime and SHA-256, the module dependency
graph and the line the build printed. `noop_verdict` decides from stat and hash checks alone
whether a new build would write the same bytes: the standard library only, so `gatic build`
answers "up to date" without importing libcst, pydantic or jinja2.
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from gati_compiler.cache import blob

CACHE_DIR: Final = ".cache"
INDEX_FILE: Final = "index.bin"
INDEX_KIND: Final = "index"
CONFIG_FILES: Final = ("pyproject.toml", "gati.toml")
# the folders discovery never enters (kept equal to `stages.discover.SKIP_DIRS`; a test checks it)
SKIP_DIRS: Final = frozenset(
    {"__pycache__", "node_modules", "venv", ".venv", "env", "build", "dist", "site-packages", ".gati", ".git"}
)
_PACKAGE: Final = Path(__file__).resolve().parent.parent


def _template_root() -> Path:
    source = _PACKAGE.parent / "templates"
    return source if source.is_dir() else _PACKAGE / "_templates"


def compiler_fingerprint() -> str:
    """A digest of the compiler's own files (path, size, mtime): a cache from another gati, or
    from this checkout before an edit of the compiler, is never reused."""
    h = hashlib.sha256()
    for base in (_PACKAGE, _template_root()):
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for name in sorted(filenames):
                if name.endswith((".pyc", ".tmp")):
                    continue
                path = Path(dirpath) / name
                st = path.stat()
                h.update(f"{path.relative_to(base).as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def file_sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def config_digests(root: Path) -> dict[str, str | None]:
    """The digests of every file a build reads besides the sources: the configuration files and
    the Timescape lock (its versions reach the manifest and the deploy bundle)."""
    names = [*CONFIG_FILES, configured_lock(root)]
    return {name: file_sha256(root / name) for name in names}


def _gati_table(root: Path) -> dict[str, Any] | None:
    """The gati settings (`gati.toml`, or `[tool.gati]` of `pyproject.toml`), read with tomllib alone."""
    for name, table_path in (("gati.toml", ()), ("pyproject.toml", ("tool", "gati"))):
        path = root / name
        if not path.is_file():
            continue
        try:
            data: Any = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            continue
        for key in table_path:
            data = data.get(key) if isinstance(data, dict) else None
        if isinstance(data, dict):
            return data
    return None


def configured_out(root: Path) -> str:
    """The build folder the configuration names (`out`); `.gati` if unsure."""
    table = _gati_table(root) or {}
    out = table.get("out", ".gati")
    return out if isinstance(out, str) and out else ".gati"


def configured_lock(root: Path) -> str:
    """The Timescape lock the configuration names (`timescape.lock`); `timescape.lock` if unsure."""
    table = (_gati_table(root) or {}).get("timescape")
    lock = table.get("lock", "timescape.lock") if isinstance(table, dict) else "timescape.lock"
    return lock.replace("\\", "/") if isinstance(lock, str) and lock else "timescape.lock"


def walked_dirs(root: Path, sources: list[str], out: str) -> dict[str, int]:
    """The mtime of every folder discovery walks (-1 for a source root that does not exist)."""
    found: dict[str, int] = {}
    out_dir = (root / out).resolve()
    resolved_root = root.resolve()
    for src in sources:
        base = (root / src).resolve()
        if not base.is_dir():
            found[src] = -1
            continue
        for dirpath, dirnames, _ in os.walk(base):
            here = Path(dirpath)
            dirnames[:] = sorted(
                d for d in dirnames if d not in SKIP_DIRS and not d.startswith(".") and (here / d).resolve() != out_dir
            )
            rel = os.path.relpath(here, resolved_root)
            found[Path(rel).as_posix()] = here.stat().st_mtime_ns
    return found


@dataclass
class Index:
    """One clean build's inputs and outputs (see the module docstring)."""

    fingerprint: str
    config: dict[str, str | None]
    out: str
    sources: list[str]
    dirs: dict[str, int]
    files: dict[str, str]
    artifacts: dict[str, list[Any]]  # rel -> [size, mtime_ns, sha256]
    emit_key: str
    summary: str
    clean: bool
    lower_key: str = ""  # digest of everything resolve, lower and emit read (see `store.lower_key`)
    modules: dict[str, str] = field(default_factory=dict)  # rel path -> module
    graph: dict[str, list[str]] = field(default_factory=dict)  # module -> project modules it imports
    # a build with warnings (no error) is clean too: its diagnostics (JSON) are replayed when the
    # build is reused, and the no-op check prints `rendered` (the text the build printed) again
    diagnostics: list[Any] = field(default_factory=list)
    rendered: str = ""

    def to_bytes(self) -> bytes:
        return json.dumps(self.__dict__, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Index:
        try:
            raw = json.loads(data)
            return cls(**raw)
        except (ValueError, TypeError) as exc:
            raise blob.CacheProblem(f"its index is malformed: {exc}") from None


def index_path(out_dir: Path) -> Path:
    return out_dir / CACHE_DIR / INDEX_FILE


def read_index(out_dir: Path) -> Index | None:
    """The index in `out_dir`, None when there is none. Raises `blob.CacheProblem` if untrusted."""
    payload = blob.read(index_path(out_dir), INDEX_KIND)
    return None if payload is None else Index.from_bytes(payload)


def write_index(out_dir: Path, index: Index) -> None:
    blob.write(index_path(out_dir), INDEX_KIND, index.to_bytes())


def artifact_record(path: Path, digest: str) -> list[Any]:
    """[size, mtime_ns, sha256] of an artifact just written, whose bytes have the SHA-256 `digest`."""
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, digest]


def artifacts_current(out_dir: Path, artifacts: dict[str, list[Any]]) -> str | None:
    """None when every recorded artifact is on disk with its recorded bytes, else the first that
    is not. A file whose size and mtime are as recorded is taken as unchanged (as git and make
    do); any other is hashed."""
    for rel, (size, mtime_ns, digest) in artifacts.items():
        path = out_dir / rel
        try:
            st = path.stat()
        except OSError:
            return rel
        if st.st_size == size and st.st_mtime_ns == mtime_ns:
            continue
        if st.st_size != size or file_sha256(path) != digest:
            return rel
    return None


def changed_sources(root: Path, index: Index) -> list[str]:
    """The recorded source and configuration files whose bytes differ now (or that are gone)."""
    changed = [name for name, digest in index.config.items() if file_sha256(root / name) != digest]
    changed.extend(rel for rel, digest in index.files.items() if file_sha256(root / rel) != digest)
    return changed


def noop_verdict(root: Path) -> Index | None:
    """The index of the last build when a build now would change nothing, else None.

    Nothing is trusted that was not checked: the compiler fingerprint, the configuration files'
    bytes, every walked folder's mtime (no file added, removed or renamed), every source file's
    bytes and every artifact's size and mtime (or bytes). Any doubt, including a cache that
    cannot be read, answers None and the full pipeline runs (and reports the cache).
    """
    out_dir = root / configured_out(root)
    try:
        index = read_index(out_dir)
    except blob.CacheProblem:
        return None
    if index is None or not index.clean:
        return None
    if (root / index.out).resolve() != out_dir.resolve():
        return None
    if index.fingerprint != compiler_fingerprint() or config_digests(root) != index.config:
        return None
    if walked_dirs(root, index.sources, index.out) != index.dirs:
        return None
    if changed_sources(root, index):
        return None
    if artifacts_current(out_dir, index.artifacts) is not None:
        return None
    return index
