"""`timescape.lock`: the recorded versions of an app, as one canonical, content-addressed JSON file.

Input: nothing (data module); `lock_read.read_lock` parses and checks a file into a `Lock`,
`Lock.to_bytes` serialises one. Named GTypes and handler contracts are stored once, keyed by the
sha256 of their compact canonical JSON; each version lists only the handlers whose contract
changed since the version before it (a hash, or `null` for a removed handler), so a lock grows
by what changed, never by the size of the app. No I/O here except `save_lock` (atomic).

The file (keys sorted, two-space indent, UTF-8, a final newline)::

    {
      "format": "gati-timescape-lock",
      "formatVersion": 1,
      "app": "bookstore",
      "versions": [                        # oldest first, TSVs strictly increasing
        {"tsv": "2026-11-21T10:30:00Z", "tags": ["v1.0.0"], "labels": ["stable"],
         "status": "active" | "deprecated" | "retired",
         "deprecatedAt": TSV, "sunset": "YYYY-MM-DD", "retiredAt": TSV,   # when they apply
         "handlers": {"books.get": "sha256:…", "books.old": null}}        # changes only
      ],
      "contracts": {"sha256:…": {"handler": {HandlerContract…}, "types": {"pkg.Book": "sha256:…"}}},
      "gtypes": {"sha256:…": {GType…}}
    }
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from pathlib import Path
from typing import Final, Literal, TypeAlias

from pydantic import JsonValue

from gati_compiler.canonical import canonical_bytes, compact_json, sha256_digest
from gati_compiler.ir.canonical import load_gtype
from gati_compiler.ir.gtype import GType
from gati_compiler.timescape.contract import ApiContract, HandlerContract

LOCK_FORMAT: Final = "gati-timescape-lock"
FORMAT_VERSION: Final = 1
Status = Literal["active", "deprecated", "retired"]
STATUSES: Final[tuple[Status, ...]] = ("active", "deprecated", "retired")

TSV_RE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
DATE_RE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")
NAME_RE: Final = re.compile(r"^[A-Za-z][A-Za-z0-9._+-]{0,63}$")


def format_tsv(moment: datetime) -> str:
    """A TSV: the UTC second of `moment`, as `2026-11-21T10:30:00Z`."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_tsv(text: str) -> datetime | None:
    """The moment of a well-formed TSV, or None."""
    if not TSV_RE.match(text):
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def parse_timestamp(text: str) -> datetime | None:
    """A client's timestamp (ISO 8601 date or date-time; no zone means UTC), or None.

    The runtime's `versions._parse_ts` reads timestamps the same way (property 33 checks both)."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_date(text: str) -> date | None:
    if not DATE_RE.match(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def name_problem(name: str) -> str | None:
    """Why `name` cannot be a tag or label, or None when it can."""
    if not NAME_RE.match(name):
        return (
            f"`{name}` is not a valid tag or label: use a letter, then letters, digits, `.`, `_`, `+` "
            "or `-` (at most 64 characters)"
        )
    return None


def object_hash(obj: JsonValue) -> str:
    """The content address of a stored object: sha256 of its compact canonical JSON."""
    return sha256_digest(compact_json(obj).encode())


@dataclass(frozen=True)
class Version:
    """One recorded version. `handlers` holds only what changed since the version before."""

    tsv: str
    tags: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    status: Status = "active"
    deprecatedAt: str | None = None
    sunset: str | None = None  # ISO date
    retiredAt: str | None = None
    handlers: Mapping[str, str | None] = field(default_factory=dict)

    def to_json(self) -> dict[str, JsonValue]:
        out: dict[str, JsonValue] = {
            "tsv": self.tsv,
            "tags": list[JsonValue](sorted(self.tags)),
            "labels": list[JsonValue](sorted(self.labels)),
            "status": self.status,
            "handlers": dict(sorted(self.handlers.items())),
        }
        for key in ("deprecatedAt", "sunset", "retiredAt"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


@dataclass(frozen=True)
class StoredContract:
    """A handler contract as stored: the `HandlerContract` dump and its named types by hash."""

    handler: Mapping[str, JsonValue]
    types: Mapping[str, str]

    def to_json(self) -> dict[str, JsonValue]:
        return {"handler": dict(self.handler), "types": dict(sorted(self.types.items()))}

    @cached_property
    def shape(self) -> str:
        """The hash of what a client sees: the contract without its source location."""
        public = {k: v for k, v in self.handler.items() if k != "source"}
        return object_hash({"handler": public, "types": dict(self.types)})


@dataclass(frozen=True)
class Lock:
    """A checked lock: versions oldest first, and the stores they reference (all hashes resolve)."""

    app: str
    versions: tuple[Version, ...] = ()
    contracts: Mapping[str, StoredContract] = field(default_factory=dict)
    gtypes: Mapping[str, Mapping[str, JsonValue]] = field(default_factory=dict)

    # reading
    @property
    def latest(self) -> Version | None:
        return self.versions[-1] if self.versions else None

    @cached_property
    def handler_maps(self) -> tuple[dict[str, str], ...]:
        """Per version, every handler id that exists in it → its contract hash (deltas replayed)."""
        maps: list[dict[str, str]] = []
        current: dict[str, str] = {}
        for v in self.versions:
            current = dict(current)
            for hid, ref in v.handlers.items():
                if ref is None:
                    current.pop(hid, None)
                else:
                    current[hid] = ref
            maps.append(current)
        return tuple(maps)

    def index_of(self, tsv: str) -> int:
        for i, v in enumerate(self.versions):
            if v.tsv == tsv:
                return i
        raise KeyError(tsv)

    def resolve(self, name: str) -> Version | None:
        """Version `name`: a TSV exactly, a tag, a label, or a timestamp (the newest version at or
        before it); None when nothing matches. The runtime resolves `X-Gati-Version` the same way."""
        for v in self.versions:
            if v.tsv == name:
                return v
        for v in self.versions:
            if name in v.tags:
                return v
        for v in self.versions:
            if name in v.labels:
                return v
        moment = parse_timestamp(name)
        if moment is None:
            return None
        found = None
        for v in self.versions:
            at = parse_tsv(v.tsv)
            if at is not None and at <= moment:
                found = v
        return found

    def handlers_of(self, tsv: str) -> dict[str, str]:
        """Handler id → contract hash of version `tsv`."""
        return self.handler_maps[self.index_of(tsv)]

    def contract(self, version: str | Version) -> ApiContract:
        """The whole public contract recorded as `version` (a name `resolve` accepts, or a `Version`).

        Raises `KeyError` when the name resolves to no version."""
        found = version if isinstance(version, Version) else self.resolve(version)
        if found is None:
            raise KeyError(version)
        handlers: list[HandlerContract] = []
        gtypes: dict[str, GType] = {}
        for _hid, ref in sorted(self.handlers_of(found.tsv).items()):
            stored = self.contracts[ref]
            handlers.append(HandlerContract.model_validate(dict(stored.handler)))
            for name, gref in stored.types.items():
                if name not in gtypes:
                    gtypes[name] = load_gtype(dict(self.gtypes[gref]))
        return ApiContract(app=self.app, handlers=tuple(handlers), gtypes=dict(sorted(gtypes.items())))

    def shapes_of(self, tsv: str) -> dict[str, str]:
        """Handler id → shape hash (contract without source location) of version `tsv`."""
        return {hid: self.contracts[ref].shape for hid, ref in self.handlers_of(tsv).items()}

    def successor(self, tsv: str) -> str | None:
        """Where a client of `tsv` should move: the nearest newer active version, else the nearest
        newer one that is not retired; None for the latest."""
        later = self.versions[self.index_of(tsv) + 1 :]
        for wanted in (("active",), ("active", "deprecated")):
            for v in later:
                if v.status in wanted:
                    return v.tsv
        return None

    def public_changes(self, tsv: str) -> tuple[list[str], list[str]]:
        """The handlers whose public contract version `tsv` added or changed, and those it removed
        (a handler whose source line alone moved is in neither)."""
        i = self.index_of(tsv)
        before = self.shapes_of(self.versions[i - 1].tsv) if i > 0 else {}
        after = self.shapes_of(tsv)
        changed = sorted(h for h, shape in after.items() if before.get(h) != shape)
        return changed, sorted(h for h in before if h not in after)

    # writing
    def to_json(self) -> dict[str, JsonValue]:
        """The canonical document; objects no version reaches are dropped."""
        used_contracts = sorted({ref for m in self.handler_maps for ref in m.values()} | self._delta_refs())
        used_gtypes: set[str] = set()
        for ref in used_contracts:
            used_gtypes.update(self.contracts[ref].types.values())
        return {
            "format": LOCK_FORMAT,
            "formatVersion": FORMAT_VERSION,
            "app": self.app,
            "versions": [v.to_json() for v in self.versions],
            "contracts": {ref: self.contracts[ref].to_json() for ref in used_contracts},
            "gtypes": {ref: dict(self.gtypes[ref]) for ref in sorted(used_gtypes)},
        }

    def _delta_refs(self) -> set[str]:
        return {ref for v in self.versions for ref in v.handlers.values() if ref is not None}

    def to_bytes(self) -> bytes:
        return canonical_bytes(self.to_json())


StoredApi: TypeAlias = tuple[dict[str, str], dict[str, StoredContract], dict[str, dict[str, JsonValue]]]


def store_contract(contract: ApiContract) -> StoredApi:
    """Content-address an `ApiContract`: handler id → contract hash, and the new objects by hash."""
    from gati_compiler.ir.canonical import FingerprintIndex, dump_gtype

    index = FingerprintIndex(contract.gtypes)
    gtype_refs: dict[str, str] = {}
    gtypes: dict[str, dict[str, JsonValue]] = {}
    for name, g in contract.gtypes.items():
        dumped = dump_gtype(g)
        ref = object_hash(dumped)
        gtype_refs[name] = ref
        gtypes[ref] = dumped
    handlers: dict[str, str] = {}
    contracts: dict[str, StoredContract] = {}
    for h in contract.handlers:
        roots = [g for g in (h.request, h.response, h.params, h.query, h.headers) if g is not None]
        names = [n for n in index.closure(roots) if n in gtype_refs]
        stored = StoredContract(
            handler=h.model_dump(mode="json", exclude_none=True), types={n: gtype_refs[n] for n in names}
        )
        ref = object_hash(stored.to_json())
        handlers[h.handlerId] = ref
        contracts[ref] = stored
    return handlers, contracts, gtypes


def save_lock(lock: Lock, path: Path) -> None:
    """Write `lock` to `path` atomically (a temporary file beside it, then a rename)."""
    from gati_compiler.writer import _atomic_write

    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(os.fspath(path), lock.to_bytes(), fsync=True)


def versions_table(lock: Lock) -> list[dict[str, JsonValue]]:
    """One row per version, newest last: what `gatic version list --format json` prints."""
    rows: list[dict[str, JsonValue]] = []
    for i, v in enumerate(lock.versions):
        row = v.to_json()
        row.pop("handlers")
        changed, removed = lock.public_changes(v.tsv)
        row["handlerCount"] = len(lock.handler_maps[i])
        row["changed"] = list[JsonValue](changed)
        row["removed"] = list[JsonValue](removed)
        successor = lock.successor(v.tsv)
        if successor is not None and v.status != "active":
            row["successor"] = successor
        rows.append(row)
    return rows


def all_names(versions: Iterable[Version]) -> dict[str, str]:
    """Every tag and label → the TSV it names."""
    out: dict[str, str] = {}
    for v in versions:
        for n in (*v.tags, *v.labels):
            out[n] = v.tsv
    return out
