"""The only stage that writes the disk: artifacts (relative POSIX path -> bytes) into the build folder.

Input: the artifact set, the build folder and the previous build's artifact list. Output: a
`WriteReport`. Every write is atomic (temp file in the same folder, then `os.replace`), files
whose bytes did not change are not touched, and artifacts the previous build produced but this
one does not are removed. It never writes or removes outside the build folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Final

MANIFEST: Final = "manifest.json"
# a file modified this recently may be rewritten within the same mtime tick (as `gati_runtime_min.stamps`)
RACY_NS: Final = 2_000_000_000


@dataclass(frozen=True)
class WriteReport:
    """Relative POSIX paths, each list sorted."""

    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def _safe_relative(rel: str) -> bool:
    if not rel or "\\" in rel or "\x00" in rel or PureWindowsPath(rel).drive:
        return False
    path = PurePosixPath(rel)
    return not path.is_absolute() and all(part not in ("", ".", "..") for part in rel.split("/"))


def _check_relative(rel: str) -> None:
    if not _safe_relative(rel):
        raise ValueError(f"artifact path {rel!r} is not a normalised relative POSIX path inside the build folder")


class ArtifactWriter:
    """Writes one build's artifacts in batches, as the emitters produce them; `finish` commits.

    `put` writes each file of a batch unless its bytes are already there, atomically and one
    after the other: on a local disk each write is kernel CPU time, and writer threads only add
    lock contention (measured: twice the system time, no gain in wall time). `finish` writes
    `manifest.json` last, so an interrupted build leaves the old manifest describing files that
    are all still there, then removes the stale files (in `previous`, not in the final artifact
    set) and prunes the folders they leave empty.

    Raises:
        ValueError: an artifact or previous path is absolute, contains `..`, or is not
            normalised; that is a bug in gati, not a user error.
    """

    def __init__(
        self,
        out_dir: Path,
        *,
        previous: Iterable[str] = (),
        fsync: bool = False,
        known: Mapping[str, tuple[int, int, bytes]] | None = None,
    ) -> None:
        self.out_dir = out_dir
        self.fsync = fsync
        # rel -> (size, mtime_ns, bytes) of files this process wrote or checked (`gatic watch`):
        # such a file still holding that size and mtime is not read again to compare
        self.known = known or {}
        self._racy_from = time.time_ns() - RACY_NS
        self.previous = sorted(set(previous))
        for rel in self.previous:
            _check_relative(rel)
        self.written: list[str] = []
        self.unchanged: list[str] = []
        self.removed: list[str] = []
        self._done: set[str] = set()
        self._folders: set[str] = set()

    def put(self, artifacts: Mapping[str, bytes]) -> None:
        """Write a batch (never `manifest.json`, which `finish` writes)."""
        body = sorted(rel for rel in artifacts if rel != MANIFEST)
        for rel in body:
            _check_relative(rel)
        body = self._put_new_folders(body, artifacts)
        out_dir = self.out_dir
        folders = sorted({rel.rpartition("/")[0] for rel in body} - self._folders)
        # a stale file where a new artifact needs a folder must go first
        needed = {parent for folder in folders if folder for parent in _ancestors(folder)}
        for rel in self.previous:
            if rel in needed and rel not in self.removed and _remove(out_dir, rel):
                self.removed.append(rel)
        for folder in folders:
            os.makedirs(os.path.join(out_dir, *folder.split("/")) if folder else out_dir, exist_ok=True)
        self._folders.update(folders)

        def put_one(rel: str) -> bool:
            """Write one artifact unless it is already there; True when written."""
            target = os.path.join(out_dir, *rel.split("/"))
            data = artifacts[rel]
            seen = self.known.get(rel)
            if seen is not None and (seen[2] is data or seen[2] == data) and self._unchanged(target, seen):
                return False
            if _same_bytes(target, data):
                return False
            _atomic_write(target, data, fsync=self.fsync)
            return True

        done = [put_one(rel) for rel in body]
        for rel, changed in zip(body, done, strict=True):
            (self.written if changed else self.unchanged).append(rel)
        self._done.update(body)

    def _unchanged(self, target: str, seen: tuple[int, int, bytes]) -> bool:
        """Whether `target` has the size and mtime it had when its bytes were `seen[2]`, and that
        mtime is older than the file system's clock could blur (a rewrite within the same tick
        can keep the mtime: such a file is compared byte for byte)."""
        try:
            st = os.stat(target)
        except OSError:
            return False
        return st.st_size == seen[0] and st.st_mtime_ns == seen[1] and st.st_mtime_ns < self._racy_from

    def _put_new_folders(self, body: list[str], artifacts: Mapping[str, bytes]) -> list[str]:
        """Write the files under top-level folders that do not exist yet (a cold build's
        `handlers/`, `sdk/`, ...) and return the rest of `body`.

        Such a folder is filled under a temporary name and renamed into place once complete:
        as atomic as a rename per file, with one rename instead of hundreds, and no check for
        bytes already there (measured on a quiet disk: 732 handler manifests in 26 ms instead
        of 41 ms file by file).
        """
        groups: dict[str, list[str]] = {}
        rest: list[str] = []
        for rel in body:
            top, sep, _ = rel.partition("/")
            if sep and top not in self._folders:
                groups.setdefault(top, []).append(rel)
            else:
                rest.append(rel)
        for top, rels in groups.items():
            target = os.path.join(self.out_dir, top)
            if os.path.lexists(target):
                rest.extend(rels)
                continue
            os.makedirs(self.out_dir, exist_ok=True)
            staging = os.path.join(self.out_dir, f".{top}.{secrets.token_hex(6)}.tmp")
            try:
                made: set[str] = set()
                for rel in rels:
                    inner = rel.split("/")[1:]
                    folder = os.path.join(staging, *inner[:-1])
                    if folder not in made:
                        os.makedirs(folder, exist_ok=True)
                        made.add(folder)
                    _write_new(os.path.join(folder, inner[-1]), artifacts[rel], fsync=self.fsync)
                os.rename(staging, target)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            self._folders.update(folder for rel in rels for folder in _ancestors(rel.rpartition("/")[0]))
            self.written.extend(rels)
            self._done.update(rels)
        return sorted(rest)

    def finish(self, manifest: bytes | None) -> WriteReport:
        """Write `manifest.json` (if given), then remove what the previous build had and this one has not."""
        if manifest is not None:
            os.makedirs(self.out_dir, exist_ok=True)
            target = os.path.join(self.out_dir, MANIFEST)
            if _same_bytes(target, manifest):
                self.unchanged.append(MANIFEST)
            else:
                _atomic_write(target, manifest, fsync=self.fsync)
                self.written.append(MANIFEST)
            self._done.add(MANIFEST)
        for rel in self.previous:
            if rel not in self._done and rel not in self.removed and _remove(self.out_dir, rel):
                self.removed.append(rel)
        return WriteReport(written=sorted(self.written), unchanged=sorted(self.unchanged), removed=sorted(self.removed))


def write_artifacts(
    artifacts: Mapping[str, bytes],
    out_dir: Path,
    *,
    previous: Iterable[str] = (),
    fsync: bool = False,
) -> WriteReport:
    """Write `artifacts` under `out_dir` in one batch, touching only what changed (see `ArtifactWriter`).

    Raises:
        ValueError: an artifact or previous path is not a normalised relative POSIX path.
    """
    writer = ArtifactWriter(out_dir, previous=previous, fsync=fsync)
    writer.put(artifacts)
    return writer.finish(artifacts.get(MANIFEST))


def _ancestors(folder: str) -> list[str]:
    """`a/b/c` -> `a`, `a/b`, `a/b/c`."""
    parts = folder.split("/")
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def read_previous_artifacts(out_dir: Path) -> tuple[list[str], str | None]:
    """The artifact paths the previous build recorded in `out_dir/manifest.json`.

    Returns `(paths, None)`, `([], None)` when there is no previous manifest, or `([], message)`
    when it is unreadable or malformed; a corrupt manifest is never trusted. The caller turns the
    message into a diagnostic.
    """
    path = out_dir / MANIFEST
    if not path.exists():
        return [], None
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [], f"the previous `{MANIFEST}` cannot be read: {exc}"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return [], f"the previous `{MANIFEST}` is not valid JSON: {exc}"
    if not isinstance(data, dict) or not isinstance(data.get("artifacts"), dict):
        return [], f"the previous `{MANIFEST}` has no `artifacts` object"
    paths = list(data["artifacts"])
    bad = [p for p in paths if not _safe_relative(p)]
    if bad:
        return [], f"the previous `{MANIFEST}` lists a path outside the build folder: `{bad[0]}`"
    return sorted(paths), None


def _same_bytes(target: str, data: bytes) -> bool:
    try:
        if os.stat(target).st_size != len(data):
            return False
        with open(target, "rb") as fh:
            return fh.read() == data
    except OSError:
        return False


def _write_new(path: str, data: bytes, *, fsync: bool) -> None:
    """Create `path` (which must not exist) with `data`."""
    # os.open with 0o666 lets the umask decide permissions, as a plain open() would
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        if fsync:
            fh.flush()
            os.fsync(fh.fileno())


def _atomic_write(target: str, data: bytes, *, fsync: bool) -> None:
    folder, name = os.path.split(target)
    tmp = os.path.join(folder, f".{name}.{secrets.token_hex(6)}.tmp")
    try:
        _write_new(tmp, data, fsync=fsync)
        os.replace(tmp, target)  # atomic on POSIX and Windows
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _remove(out_dir: Path, rel: str) -> bool:
    target = out_dir.joinpath(*rel.split("/"))
    if not target.is_file() and not target.is_symlink():
        return False
    target.unlink()
    parent = target.parent
    while parent != out_dir and out_dir in parent.parents:
        try:
            parent.rmdir()  # only succeeds when empty
        except OSError:
            break
        parent = parent.parent
    return True
