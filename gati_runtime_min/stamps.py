"""What a hot swap already knows about the files of the build and of the app's sources.

A swap loads the build folder again; most of it is as the last load left it. `Stamps` remembers,
per file, its `(size, mtime_ns, inode)` and the sha256 of its bytes when they were last read, so
that a later load can tell an unchanged file by one `stat` instead of reading and hashing it, and
`ArtifactCache` keeps, per build artifact, the digest `manifest.json` recorded for it and its
parsed JSON.

A stamp is trusted only when it cannot hide a change:

- the file's `(size, mtime_ns, inode)` is the one recorded (the writer replaces files by rename,
  so a rewrite is a new inode, and any write moves the mtime);
- the recorded mtime is older than the moment the bytes were read by more than `RACY_NS`: a file
  written again within the file system's timestamp granularity of the read could keep the very
  same mtime, so a file that recent is read and hashed again, every time, until it is older;
- for an artifact, the digest the new `manifest.json` records for it is the one it recorded when
  the bytes were checked: a build that rewrote the artifact recorded a new digest, so even bytes
  of the same size under the same mtime are read and checked again.

Anything else is read, hashed and checked as a first load does. A route of the last load is
reused when it was built from the very same parsed manifest, codec and functions
(`still_current`). Never imports the compiler.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import orjson

from gati_runtime_min.errors import ManifestError

if TYPE_CHECKING:
    from gati_runtime_min.loader import RouteSpec

# a file whose mtime is within this of the moment it was hashed may be rewritten under the same
# mtime (coarse file-system clocks: a few milliseconds on Linux, two seconds on FAT)
RACY_NS: Final = 2_000_000_000
_UNPARSED: Final = object()


@dataclass(slots=True)
class _Stamp:
    size: int
    mtime_ns: int
    inode: int
    sha256: str  # hex digest of the bytes read
    read_ns: int  # wall clock when the bytes were read


class Stamps:
    """Per file: the sha256 of its bytes, from a `stat` when the file provably did not change."""

    def __init__(self) -> None:
        self._stamps: dict[str, _Stamp] = {}

    def trusted(self, path: str, st: os.stat_result | None = None) -> _Stamp | None:
        """The file's stamp if it still holds (see the module docstring), else None."""
        stamp = self._stamps.get(path)
        if stamp is None:
            return None
        if st is None:
            try:
                st = os.stat(path)
            except OSError:
                return None
        if (st.st_size, st.st_mtime_ns, st.st_ino) != (stamp.size, stamp.mtime_ns, stamp.inode):
            return None
        if stamp.mtime_ns >= stamp.read_ns - RACY_NS:
            return None
        return stamp

    def read(self, path: str) -> tuple[bytes, _Stamp]:
        """Read the file and record its stamp (OSError if it cannot be read)."""
        read_ns = time.time_ns()
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            data = f.read()
        stamp = _Stamp(st.st_size, st.st_mtime_ns, st.st_ino, hashlib.sha256(data).hexdigest(), read_ns)
        self._stamps[path] = stamp
        return data, stamp

    def digest(self, path: str) -> str | None:
        """The sha256 of the file's bytes (None: it cannot be read), hashing only when needed."""
        stamp = self.trusted(path)
        if stamp is not None:
            return stamp.sha256
        try:
            return self.read(path)[1].sha256
        except OSError:
            self._stamps.pop(path, None)
            return None


@dataclass(slots=True)
class _Checked:
    recorded: str  # the digest manifest.json recorded when the bytes were checked against it
    sha256: str  # the sha256 of those bytes
    parsed: Any = _UNPARSED


class ArtifactCache:
    """The artifacts of one build folder as the last load checked them, across loads."""

    def __init__(self) -> None:
        self.stamps = Stamps()
        self._checked: dict[str, _Checked] = {}  # path -> what was checked
        # the routes the last load built, by handler manifest (`loader`): reused only when every
        # object they were built from is still the very same (`still_current`)
        self.routes: dict[str, tuple[Any, Any]] = {}

    def check_all(self, build_dir: Path, artifacts: dict[str, object]) -> None:
        """`check` every artifact `manifest.json` lists, in order; forget those it no longer lists.
        Paths are `f"{build_dir}/{rel}"`, as `read_json` is asked for them."""
        base = str(build_dir)
        listed = {f"{base}/{rel}" for rel in artifacts}
        for key in [k for k in self._checked if k not in listed]:
            del self._checked[key]
        for rel, recorded in sorted(artifacts.items()):
            self.check(f"{base}/{rel}", recorded)

    def check(self, key: str, recorded: object) -> None:
        """Raise `ManifestError` unless the file holds the bytes `manifest.json` records for it
        (`recorded`, `sha256:<hex>`; anything else: only that the file exists)."""
        if not isinstance(recorded, str) or not recorded.startswith("sha256:"):
            if not os.path.exists(key):
                raise ManifestError(key, "listed in manifest.json artifacts but missing")
            return
        known = self._checked.get(key)
        try:
            st = os.stat(key)
        except OSError:
            raise ManifestError(key, "listed in manifest.json artifacts but missing") from None
        if known is not None and known.recorded == recorded:
            stamp = self.stamps.trusted(key, st)
            if stamp is not None and stamp.sha256 == known.sha256:
                return
        try:
            data, stamp = self.stamps.read(key)
        except OSError:
            raise ManifestError(key, "listed in manifest.json artifacts but missing") from None
        if not matches(data, stamp.sha256, recorded.removeprefix("sha256:"), key):
            self._checked.pop(key, None)
            raise ManifestError(key, "content does not match its digest in manifest.json; rebuild with `gatic build`")
        same_bytes = known is not None and known.sha256 == stamp.sha256
        parsed = known.parsed if same_bytes and known is not None else _UNPARSED
        self._checked[key] = _Checked(recorded, stamp.sha256, parsed)

    def read_json(self, key: str) -> Any:
        """The parsed JSON of an artifact `check` accepted in this load (reused while its bytes
        are the same ones), or of any other file (read and parsed each time)."""
        known = self._checked.get(key)
        if known is None or known.parsed is _UNPARSED:
            data = _read(key)
            value = _parse(data, key)
            if known is not None and hashlib.sha256(data).hexdigest() == known.sha256:
                known.parsed = value
            return value
        return known.parsed


def still_current(route: RouteSpec, h: Any, codecs: Mapping[str, Any]) -> bool:
    """Whether a route of the last load is exactly what this load would build from the handler
    manifest `h`: the very same parsed manifest (its artifact's bytes are unchanged),
    the same codec object, and the handler and hook functions it names still the same objects
    (their modules were not imported again)."""
    if route.manifest is not h or codecs.get(route.handler_id) is not route.codec:
        return False
    if loaded(h["module"], h["function"]) is not route.fn:
        return False
    hooks = h.get("hooks") or {}
    for kind, specs in (("before", route.before), ("after", route.after), ("catch", route.catch)):
        raws = hooks.get(kind) or ()
        if len(raws) != len(specs):
            return False
        for raw, spec in zip(raws, specs, strict=True):
            if loaded(raw["module"], raw["function"]) is not spec.fn:
                return False
    return True


def loaded(module: str, function: str) -> Any:
    """`module:function` if the module is imported (None otherwise: the full path imports it)."""
    mod = sys.modules.get(module)
    if mod is None or getattr(getattr(mod, "__spec__", None), "_initializing", False):
        return None
    return getattr(mod, function, None)


def matches(data: bytes, sha256: str, want: str, path: str) -> bool:
    """Whether the bytes are those of the recorded digest: as written, or for a JSON artifact in
    the compact form (sorted keys) the build hashes."""
    if sha256 == want:
        return True
    if path.endswith(".json"):
        try:
            compact = orjson.dumps(orjson.loads(data), option=orjson.OPT_SORT_KEYS)
        except orjson.JSONDecodeError:
            return False
        return hashlib.sha256(compact).hexdigest() == want
    return False


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise ManifestError(path, "missing; run `gatic build` first") from None
    except OSError as exc:
        raise ManifestError(path, f"cannot read: {exc}") from None


def _parse(data: bytes, path: str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ManifestError(path, f"corrupt JSON ({exc}); rebuild with `gatic build`") from None
