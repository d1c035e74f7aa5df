"""Version resolution from `X-Gati-Version` or `?version=` against the build's recorded versions.

A TSV exactly, a tag or a label resolves to its TSV; a timestamp picks the newest version at or
before it; nothing means current; anything else is a 400 (GATI516) that lists the known versions.
This runtime serves every version with the current handlers (transformers come with Timescape).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from gati_runtime_min.errors import GatiError


def _parse_ts(text: str) -> datetime | None:
    try:
        ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


class VersionResolver:
    def __init__(self, versions: Iterable[Any]) -> None:
        self._aliases: dict[str, str] = {}
        stamps: list[tuple[datetime, str]] = []
        for v in versions:
            if isinstance(v, str):
                tsv, names = v, []
            elif isinstance(v, Mapping) and isinstance(v.get("tsv"), str):
                tsv = v["tsv"]
                names = [*(v.get("tags") or ()), *(v.get("labels") or ())]
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
