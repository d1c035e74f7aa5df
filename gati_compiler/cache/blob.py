"""The on-disk frame of every cache file: a magic line, a JSON header line, then the payload.

    GATI-CACHE\n
    {"format": 1, "gati": "0.1.0", "kind": "facts", "length": 123, "sha256": "..."}\n
    <payload: exactly `length` bytes whose SHA-256 is `sha256`>

A reader checks all of it before it looks at the payload: a file that is not ours, from another
cache format or gati version, truncated, extended, or a mix of two writers' bytes fails with a
`CacheProblem` naming what is wrong, and the caller falls back to a full build. Files are
written atomically (a temporary file in the same folder, then `os.replace`), so two builds that
write at once leave one complete file, never an interleaving. Standard library only: the no-op
check of `gatic build` uses this before anything heavy is imported.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
from pathlib import Path
from typing import Final

from gati_compiler.version import __version__

MAGIC: Final = b"GATI-CACHE\n"
FORMAT: Final = 1
# the longest header line a reader accepts (a corrupt file must not make it read megabytes)
_MAX_HEADER: Final = 4096


class CacheProblem(Exception):
    """A cache file that cannot be trusted; the message says why, for the warning."""


def encode(kind: str, payload: bytes, *, version: str = __version__) -> bytes:
    """Frame `payload` as a cache file of `kind`."""
    header = {
        "format": FORMAT,
        "gati": version,
        "kind": kind,
        "length": len(payload),
        "sha256": hashlib.sha256(payload).hexdigest(),
    }
    return MAGIC + json.dumps(header, sort_keys=True).encode() + b"\n" + payload


def decode(data: bytes, kind: str) -> bytes:
    """The payload of a cache file of `kind`, after checking the frame.

    Raises:
        CacheProblem: not a gati cache file, another format, gati version or kind, truncated,
            extended or corrupted.
    """
    if not data.startswith(MAGIC):
        raise CacheProblem("it is not a gati cache file")
    end = data.find(b"\n", len(MAGIC), len(MAGIC) + _MAX_HEADER)
    if end < 0:
        raise CacheProblem("its header is cut off or corrupt")
    try:
        header = json.loads(data[len(MAGIC) : end])
    except (ValueError, UnicodeDecodeError):
        raise CacheProblem("its header is corrupt") from None
    if not isinstance(header, dict):
        raise CacheProblem("its header is corrupt")
    if header.get("format") != FORMAT:
        raise CacheProblem(f"it has cache format {header.get('format')!r}; this gati writes format {FORMAT}")
    if header.get("gati") != __version__:
        raise CacheProblem(f"it was written by gati {header.get('gati')!r}; this is gati {__version__}")
    if header.get("kind") != kind:
        raise CacheProblem(f"it holds {header.get('kind')!r}, not {kind!r}")
    payload = data[end + 1 :]
    length = header.get("length")
    if not isinstance(length, int) or len(payload) != length:
        raise CacheProblem(f"it is truncated or extended ({len(payload)} bytes of payload, header says {length})")
    if hashlib.sha256(payload).hexdigest() != header.get("sha256"):
        raise CacheProblem("its content does not match its checksum (corrupt, or written by two builds at once)")
    return payload


def read(path: Path, kind: str) -> bytes | None:
    """The payload of the cache file at `path`; None when there is none.

    Raises:
        CacheProblem: the file exists and cannot be trusted (see `decode`).
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CacheProblem(f"it cannot be read: {exc.strerror or exc}") from None
    return decode(data, kind)


def write(path: Path, kind: str, payload: bytes) -> None:
    """Write a cache file atomically (temporary file in the same folder, then `os.replace`),
    unless it already holds exactly these bytes (a rebuild that changed nothing touches nothing)."""
    data = encode(kind, payload)
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        with tmp.open("xb") as fh:
            fh.write(data)
        tmp.replace(path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
