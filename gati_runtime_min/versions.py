"""Version resolution from `X-Gati-Version` or `?version=` against the build's recorded versions.

A TSV exactly, a tag or a label resolves to its TSV; a timestamp picks the newest version at or
before it; nothing means current; anything else is a 400 (GATI516) that lists the known versions.
Then `gate`: a deprecated version is served with `Deprecation` (RFC 9745) and `Sunset` (RFC 8594)
headers, a retired one answers 410 (GATI517) naming its successor, and a handler that does not
exist in the asked version answers 404 (GATI522). A `(handler, version)` that
`timescape/serving.json` lists is served through its transformers (`transform.py`); the others
by the current handlers. `Timescape` is `gctx.timescape`: the versions, resolution and usage.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any, Final, TypeVar
from urllib.parse import parse_qs

from gati_runtime_min.errors import GatiError

if TYPE_CHECKING:
    from gati_runtime_min.state.base import StateBackend

T = TypeVar("T")


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

    def __init__(
        self,
        versions: Iterable[Any],
        exists: Mapping[str, Iterable[str]] | None = None,
        *,
        head: bool = False,
        served: Iterable[str] = (),
    ) -> None:
        """`head`: the working tree is not a recorded version (a request naming no version is
        served by it, version None); `served`: versions some handler serves through transformers."""
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
        self.entries = entries
        self.known: tuple[str, ...] = tuple(t for _, t in self._stamps)
        self.current: str | None = self.known[-1] if self.known else None
        # per version: None (active), headers (deprecated) or the successor's TSV (retired)
        self._deprecated = {t: deprecation_headers(e) for t, e in entries.items() if e.get("status") == "deprecated"}
        self._retired = {t: e.get("successor") for t, e in entries.items() if e.get("status") == "retired"}
        # handler id -> the versions it exists in (handlers the lock never saw are not limited)
        self._exists = {h: frozenset(ts) for h, ts in (exists or {}).items()}
        self.default = None if head else self.current  # what a request naming no version gets
        self.gated = frozenset(
            t for t in self.known if t != self.current or t in self._deprecated or t in self._retired
        ) | frozenset(served)

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

    def open_pairs(
        self, handler_ids: Iterable[str], served: Mapping[tuple[str, str], T]
    ) -> dict[tuple[str, str], tuple[list[tuple[bytes, bytes]] | None, T | None]]:
        """`gate`'s answer, worked out once: per handler and version in `gated` that it lets
        through, (the extra headers, `served[(handler, version)]` or None)."""
        out: dict[tuple[str, str], tuple[list[tuple[bytes, bytes]] | None, T | None]] = {}
        for hid in handler_ids:
            for version in self.gated:
                try:
                    extra = self.gate(version, hid)
                except GatiError:
                    continue
                out[(hid, version)] = (extra, served.get((hid, version)))
        return out

    def resolve(self, headers: Mapping[str, str], query_string: bytes) -> str | None:
        asked = headers.get("x-gati-version")
        if asked is None and b"version=" in query_string:
            values = parse_qs(query_string.decode("utf-8", "replace")).get("version")
            asked = values[0] if values else None
        if asked is None or asked == "":
            return self.default
        tsv = self.lookup(asked)
        if tsv is not None:
            return tsv
        known = ", ".join(self.known) or "none recorded"
        raise GatiError("GATI516", f"unknown API version {asked!r}; known versions: {known}")

    def lookup(self, name: str) -> str | None:
        """The TSV `name` (a TSV, tag, label or timestamp) resolves to, or None (as `resolve`,
        without raising)."""
        tsv = self._aliases.get(name)
        if tsv is not None:
            return tsv
        ts = _parse_ts(name)
        if ts is not None:
            older = [t for stamp, t in self._stamps if stamp <= ts]
            if older:
                return older[-1]
        return None

    def successor(self, tsv: str) -> str | None:
        """The nearest newer active version, else the nearest newer one not retired."""
        entry = self.entries.get(tsv) or {}
        named = entry.get("successor")
        if isinstance(named, str):
            return named
        newer = [t for t in self.known if t > tsv]
        active = [t for t in newer if (self.entries.get(t) or {}).get("status", "active") == "active"]
        alive = [t for t in newer if (self.entries.get(t) or {}).get("status") != "retired"]
        chosen = active or alive
        return chosen[0] if chosen else None

    def describe(self) -> list[dict[str, Any]]:
        """Every recorded version, oldest first: tsv, tags, labels, status, successor, sunset."""
        out: list[dict[str, Any]] = []
        for tsv in self.known:
            entry = self.entries.get(tsv) or {}
            out.append(
                {
                    "tsv": tsv,
                    "tags": list(entry.get("tags") or ()),
                    "labels": list(entry.get("labels") or ()),
                    "status": str(entry.get("status") or "active"),
                    "successor": self.successor(tsv) if tsv != self.current else None,
                    "sunset": entry.get("sunset"),
                }
            )
        return out


class Timescape:
    """`gctx.timescape`: the recorded versions, the current one, resolution, and usage counts."""

    __slots__ = ("_resolver", "_state")

    def __init__(self, resolver: VersionResolver, state: StateBackend | None = None) -> None:
        self._resolver = resolver
        self._state = state

    @property
    def current(self) -> str | None:
        """The latest recorded version (what a request naming no version is served as), or None."""
        return self._resolver.current

    def versions(self) -> list[dict[str, Any]]:
        """Each recorded version, oldest first: `tsv`, `tags`, `labels`, `status`, `successor`, `sunset`."""
        return self._resolver.describe()

    def resolve(self, name: str) -> str | None:
        """The TSV a version name (TSV, tag, label, timestamp) means, by the `X-Gati-Version` rules; None if unknown."""
        return self._resolver.lookup(name)

    async def usage(self) -> dict[str, dict[str, int]]:
        """Requests per handler and version since the counters started (shared with Redis)."""
        if self._state is None:
            return {}
        return await self._state.usage()


HOUR: Final = 3600.0


class UsageWindow:
    """Requests per version in the last window, from the cumulative counters read at a few moments.

    `observe` is given the totals now; the window starts at the newest earlier reading that is at
    least an hour old, else at the first reading (start-up). Readings are kept at most one a minute."""

    def __init__(self) -> None:
        self._readings: list[tuple[float, dict[str, int]]] = []

    def observe(self, now: float, totals: Mapping[str, int]) -> tuple[dict[str, int], float]:
        """(requests per version since the window start, the window in seconds)."""
        readings = self._readings
        if not readings or now - readings[-1][0] >= 60.0:
            readings.append((now, dict(totals)))
        base_at, base = readings[0]
        for at, seen in readings:
            if now - at >= HOUR:
                base_at, base = at, seen
        while len(readings) > 1 and now - readings[1][0] >= HOUR:
            readings.pop(0)  # an older reading than the newest one an hour old is never a base again
        return {v: n - base.get(v, 0) for v, n in totals.items()}, now - base_at


def temperature(requests: int, window: float, hot: float, warm: float) -> str:
    """ "hot", "warm" or "cold" by requests per hour (the count itself for a window under an hour)."""
    rate = requests * HOUR / max(window, HOUR)
    return "hot" if rate >= hot else "warm" if rate >= warm else "cold"
