"""The versions a bundle deploys: `LiveVersion` and the groups of versions that share a Deployment.

Input: the `Program` and the versions Timescape recorded (none yet: the current build). Output:
`VersionGroup`s, newest first. Pure; the lock is read elsewhere and passed in.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict

from gati_compiler.ir.models import Program
from gati_compiler.timescape.lock import Lock

CURRENT: Final = "current"  # the version label of a build with no recorded versions
_NOT_LABEL: Final = re.compile(r"[^A-Za-z0-9]+")


class LiveVersion(BaseModel):
    """One version from `timescape.lock`, as the bundle needs it.

    `tsv` is the UTC timestamp id (`2026-11-21T10:30:00Z`); `handlers` the handler ids it serves.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    tsv: str
    tags: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    status: Literal["active", "deprecated", "retired"] = "active"
    sunset: date | None = None
    handlers: tuple[str, ...] = ()


class VersionGroup(BaseModel):
    """Versions that serve the same handler set run in one Deployment; `slug` names its objects."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    slug: str  # DNS-1123 label part and label value: `20261121t103000z` or `current`
    versions: tuple[LiveVersion, ...]
    handlers: tuple[str, ...]

    @property
    def handler_set(self) -> str:
        """A label-sized digest of the handler set (the full list is an annotation)."""
        return hashlib.sha256("\n".join(self.handlers).encode()).hexdigest()[:16]

    @property
    def newest(self) -> LiveVersion:
        return self.versions[0]

    @property
    def selectors(self) -> tuple[str, ...]:
        """Every value a client may send in `X-Gati-Version` that names a version of this group."""
        seen: dict[str, None] = {}
        for v in self.versions:
            for value in (v.tsv, *v.tags, *v.labels):
                seen.setdefault(value, None)
        return tuple(seen)


def version_slug(tsv: str) -> str:
    """`2026-11-21T10:30:00Z` → `20261121t103000z`: usable in names and label values."""
    slug = _NOT_LABEL.sub("", tsv).lower()
    return slug[:40] or "v"


def version_groups(program: Program, versions: tuple[LiveVersion, ...] = ()) -> tuple[VersionGroup, ...]:
    """The Deployments to run, newest first.

    Retired versions run nowhere. Versions with the same handler set share one group named after
    its newest version. With no live version recorded, the current build is one group `current`.
    """
    live = sorted((v for v in versions if v.status != "retired"), key=lambda v: v.tsv, reverse=True)
    if not live:
        handlers = tuple(sorted(h.handlerId for h in program.handlers))
        return (VersionGroup(slug=CURRENT, versions=(LiveVersion(tsv=CURRENT, handlers=handlers),), handlers=handlers),)
    by_set: dict[tuple[str, ...], list[LiveVersion]] = {}
    for v in live:
        by_set.setdefault(tuple(sorted(v.handlers)), []).append(v)
    groups = [VersionGroup(slug=version_slug(vs[0].tsv), versions=tuple(vs), handlers=hs) for hs, vs in by_set.items()]
    return tuple(sorted(groups, key=lambda g: g.newest.tsv, reverse=True))


def live_versions(lock: Lock | None) -> tuple[LiveVersion, ...]:
    """The lock's versions as the bundle needs them (retired ones included: `version_groups` drops
    them); no lock, or an empty one, gives `()`: the current build as one group."""
    if lock is None:
        return ()
    return tuple(
        LiveVersion(
            tsv=v.tsv,
            tags=tuple(sorted(v.tags)),
            labels=tuple(sorted(v.labels)),
            status=v.status,
            sunset=date.fromisoformat(v.sunset) if v.sunset else None,
            handlers=tuple(sorted(handlers)),
        )
        for v, handlers in zip(lock.versions, lock.handler_maps, strict=True)
    )
