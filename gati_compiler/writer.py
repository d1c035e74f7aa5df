"""The only stage that writes the disk: artifacts (relative POSIX path -> bytes) into the build folder.

Input: the artifact set, the build folder and the previous build's artifact list. Output: a
`WriteReport`. Every write is atomic (temp file in the same folder, then `os.replace`), files
whose bytes did not change are not touched, and artifacts the previous build produced but this
one does not are removed. It never writes or removes outside the build folder.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Final

MANIFEST: Final = "manifest.json"
_PARALLEL_WRITES: Final = 64
_WRITE_THREADS: Final = 8


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


def write_artifacts(
    artifacts: Mapping[str, bytes],
    out_dir: Path,
    *,
    previous: Iterable[str] = (),
    fsync: bool = False,
) -> WriteReport:
    """Write `artifacts` under `out_dir`, touching only what changed.

    `manifest.json` (when present) is written last, so an interrupted build leaves the old
    manifest describing files that are all still there. Stale files (in `previous`, not in
    `artifacts`) are removed afterwards, and folders they leave empty are pruned.

    Raises:
        ValueError: an artifact or previous path is absolute, contains `..`, or is not
            normalised; that is a bug in gati, not a user error.
    """
    wanted = sorted(artifacts, key=lambda p: (p == MANIFEST, p))
    previous_list = sorted(set(previous))
    for rel in [*wanted, *previous_list]:
        _check_relative(rel)
    stale = [rel for rel in previous_list if rel not in artifacts]

    removed: list[str] = []
    # a stale file where a new artifact needs a folder must go first
    wanted_dirs = {parent.as_posix() for rel in wanted for parent in PurePosixPath(rel).parents}
    for rel in stale:
        if rel in wanted_dirs and _remove(out_dir, rel):
            removed.append(rel)

    def put(rel: str) -> bool:
        """Write one artifact unless it is already there; True when written."""
        target = out_dir.joinpath(*rel.split("/"))
        data = artifacts[rel]
        if _same_bytes(target, data):
            return False
        _atomic_write(target, data, fsync=fsync)
        return True

    # folders first (serially, cheap), then the files on a few threads: a build writes hundreds
    # of small files and each write waits on the filesystem, not on Python
    for folder in sorted({out_dir.joinpath(*rel.split("/")).parent for rel in wanted}):
        folder.mkdir(parents=True, exist_ok=True)
    body = [rel for rel in wanted if rel != MANIFEST]
    if len(body) >= _PARALLEL_WRITES:
        with ThreadPoolExecutor(max_workers=_WRITE_THREADS) as pool:
            done = list(pool.map(put, body))
    else:
        done = [put(rel) for rel in body]
    if MANIFEST in artifacts:
        body.append(MANIFEST)
        done.append(put(MANIFEST))
    written = [rel for rel, changed in zip(body, done, strict=True) if changed]
    unchanged = [rel for rel, changed in zip(body, done, strict=True) if not changed]

    for rel in stale:
        if rel not in wanted_dirs and _remove(out_dir, rel):
            removed.append(rel)
    return WriteReport(written=sorted(written), unchanged=sorted(unchanged), removed=sorted(removed))


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


def _same_bytes(target: Path, data: bytes) -> bool:
    try:
        return target.stat().st_size == len(data) and target.read_bytes() == data
    except OSError:
        return False


def _atomic_write(target: Path, data: bytes, *, fsync: bool) -> None:
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    # os.open with 0o666 lets the umask decide permissions, as a plain open() would
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        tmp.replace(target)  # os.replace: atomic on POSIX and Windows
    except BaseException:
        tmp.unlink(missing_ok=True)
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
