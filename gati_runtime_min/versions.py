"""Version resolution from `X-Gati-Version` or `?version=` against the build's recorded versions.

A TSV exactly, a tag or a label resolves to its TSV; a timestamp picks the newest version at or
before it; nothing means current; anything else is a 400 (GATI516) that lists the known versions.
Then `gate`: a deprecated version is served with `Deprecation` (RFC 9745) and `Sunset` (RFC 8594)
headers, a retired one answers 410 (GATI517) naming its successor, and a handler that does not
exist in the asked version answers 404 (GATI522). This runtime serves every version with the
current handlers (transformers come with Timescape part 2).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs

from gati_runtime_min.errors import GatiError


def _parse_ts(text: str) -> datetime | None:
    try:
        ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def deprecation_headers(entry: Mapping[str, Any]) -> list[tuple[bytes, bytes]]:
    """`Deprecation: @<unix seconds>` (RFC 9745) and `Sunset: <HTTP-date>` (RFC 8594) of a version."""
    out: list[tuple[bytes, bytes]] = []
    since = _parse_ts(str(entry.get("deprecatedAt") or ""))
    if since is not None:
        out.append((b"deprecation", f"@{int(since.timestamp())}".encode()))
    sunset = _parse_ts(str(entry.get("sunset") or ""))
    if sunset is not None:
        out.append((b"sunset", format_datetime(sunset, usegmt=True).encode()))
    successor = entry.get("successor")
    if isinstance(successor, str):
        out.append((b"link", f'<?version={successor}>; rel="successor-version"'.encode()))
    return out


class VersionResolver:
    """Resolves a request's version; `gated` holds the versions `gate` must see (all but a current
    one that is active), so a client of the current version pays one set lookup."""

    def __init__(self, versions: Iterable[Any], exists: Mapping[str, Iterable[str]] | None = None) -> None:
        self._aliases: dict[str, str] = {}
        stamps: list[tuple[datetime, str]] = []
        entries: dict[str, Mapping[str, Any]] = {}
        for v in versions:
            if isinstance(v, str):
                tsv, names = v, []
            elif isinstance(v, Mapping) and isinstance(v.get("tsv"), str):
                tsv = v["tsv"]
                names = [*(v.get("tags") or ()), *(v.get("labels") or ())]
                entries[tsv] = v
            else:
                continue
            self._aliases[tsv] = tsv
            for name in names:
                self._aliases[str(name)] = tsv
            ts = _parse_ts(tsv)
            if ts is not None:
                stamps.append((ts, tsv))
        self._stamps = sorted(stamps)
        self.known: tuple[str, ...] = tuple(t for _, t in self._stamps)
        self.current: str | None = self.known[-1] if self.known else None
        # per version: None (active), headers (deprecated) or the successor's TSV (retired)
        self._deprecated = {t: deprecation_headers(e) for t, e in entries.items() if e.get("status") == "deprecated"}
        self._retired = {t: e.get("successor") for t, e in entries.items() if e.get("status") == "retired"}
        # handler id -> the versions it exists in (handlers the lock never saw are not limited)
        self._exists = {h: frozenset(ts) for h, ts in (exists or {}).items()}
        self.gated = frozenset(
            t for t in self.known if t != self.current or t in self._deprecated or t in self._retired
        )

    def gate(self, version: str, handler_id: str) -> list[tuple[bytes, bytes]] | None:
        """For a version in `gated`: the extra response headers, or an error for a retired version
        or a handler the version does not have. The current version serves every handler."""
        if version in self._retired:
            successor = self._retired[version]
            instead = f"; use {successor}" if successor else ""
            link = {"link": f'<?version={successor}>; rel="successor-version"'} if successor else {}
            raise GatiError("GATI517", f"API version {version} is retired{instead}", headers=link)
        if version != self.current:
            exists = self._exists.get(handler_id)
            if exists is not None and version not in exists:
                raise GatiError("GATI522", f"{handler_id} does not exist in API version {version}")
        return self._deprecated.get(version)

    def resolve(self, headers: Mapping[str, str], query_string: bytes) -> str | None:
        asked = headers.get("x-gati-version")
        if asked is None and b"version=" in query_string:
            values = parse_qs(query_string.decode("utf-8", "replace")).get("version")
            asked = values[0] if values else None
        if asked is None or asked == "":
            return self.current
        tsv = self._aliases.get(asked)
        if tsv is not None:
            return tsv
        ts = _parse_ts(asked)
        if ts is not None:
            older = [t for stamp, t in self._stamps if stamp <= ts]
            if older:
                return older[-1]
        known = ", ".join(self.known) or "none recorded"
        raise GatiError("GATI516", f"unknown API version {asked!r}; known versions: {known}")
