"""Reading `timescape.lock`: bytes → a checked `Lock`, or diagnostics (never an exception).

Input: the file's bytes and its project-relative path. Output: `(Lock | None, [Diagnostic])`.
Every way a lock can be wrong is a GATI7xx diagnostic at the line it concerns: git conflict
markers, JSON errors, an unknown format version, schema violations, objects whose content does
not match their hash, dangling hashes and inconsistent versions. A lock with any error gives no
`Lock`, so nothing downstream can silently build from a half-understood history.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import orjson
from pydantic import BaseModel, ConfigDict, JsonValue, ValidationError

from gati_compiler.diagnostics import codes
from gati_compiler.diagnostics.codes import DiagnosticCode
from gati_compiler.diagnostics.model import Diagnostic, DiagnosticSink, Span
from gati_compiler.ir.canonical import load_gtype
from gati_compiler.timescape.contract import HandlerContract
from gati_compiler.timescape.lock import (
    FORMAT_VERSION,
    LOCK_FORMAT,
    Lock,
    StoredContract,
    Version,
    name_problem,
    object_hash,
    parse_date,
    parse_tsv,
)
from gati_compiler.timescape.positions import JsonPath, json_positions, position_of

_MARKERS = ("<<<<<<<", "=======", ">>>>>>>", "|||||||")
_REPAIR = "restore it from version control (`git checkout -- {path}`) or re-record the versions"


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class _VersionDoc(_Strict):
    tsv: str
    tags: list[str] = []
    labels: list[str] = []
    status: Literal["active", "deprecated", "retired"] = "active"
    deprecatedAt: str | None = None
    sunset: str | None = None
    retiredAt: str | None = None
    handlers: dict[str, str | None]


class _ContractDoc(_Strict):
    handler: dict[str, JsonValue]
    types: dict[str, str] = {}


class _LockDoc(_Strict):
    format: Literal["gati-timescape-lock"]
    formatVersion: int
    app: str
    versions: list[_VersionDoc]
    contracts: dict[str, _ContractDoc]
    gtypes: dict[str, dict[str, JsonValue]]


class _Reader:
    def __init__(self, rel: str, text: str) -> None:
        self.rel = rel
        self.text = text
        self.sink = DiagnosticSink()
        self._positions: dict[JsonPath, tuple[int, int]] | None = None

    def at(self, path: JsonPath) -> Span:
        if self._positions is None:
            self._positions = json_positions(self.text)
        line, col = position_of(self._positions, path)
        return Span.point(self.rel, line, col)

    def emit(self, code: DiagnosticCode, message: str, span: Span, help: str | None = None) -> None:
        self.sink.emit(code, message, span, help=help or _REPAIR.format(path=self.rel))


def read_lock(
    data: bytes, rel: str = "timescape.lock", *, app: str | None = None
) -> tuple[Lock | None, list[Diagnostic]]:
    """Parse and check a lock file's bytes. `rel` names it in diagnostics; `app` (the configured
    app name) turns a lock recorded for another app into a warning.

    Returns:
        The `Lock` when the file has no error (warnings may accompany it), else None; and the
        diagnostics, each with a code, the file's `line:col` and a hint.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        reader = _Reader(rel, "")
        line = data[: exc.start].count(b"\n") + 1
        reader.emit(codes.LOCK_UNREADABLE, f"`{rel}` is not UTF-8 text (byte {exc.start})", Span.point(rel, line))
        return None, reader.sink.diagnostics
    reader = _Reader(rel, text)
    lock = _read(reader)
    if lock is not None and reader.sink.has_errors:
        lock = None
    if lock is not None and app is not None and lock.app != app:
        reader.sink.emit(
            codes.LOCK_APP_MISMATCH,
            f"`{rel}` was recorded for app `{lock.app}`, but this app is `{app}`",
            reader.at(("app",)),
            help="if the app was renamed, record a new version; if the lock was copied by mistake, delete it",
        )
    return lock, reader.sink.diagnostics


def load_lock(
    path: Path, rel: str = "timescape.lock", *, app: str | None = None
) -> tuple[Lock | None, list[Diagnostic]]:
    """Read the lock at `path`: `(None, [])` when there is none, else what `read_lock` says."""
    if not path.exists():
        return None, []
    try:
        data = path.read_bytes()
    except OSError as exc:
        sink = DiagnosticSink()
        sink.emit(
            codes.LOCK_UNREADABLE,
            f"`{rel}` cannot be read: {exc.strerror or exc}",
            Span.point(rel),
            help="make the lock a readable file, or delete it if no version was ever recorded",
        )
        return None, sink.diagnostics
    return read_lock(data, rel, app=app)


def _read(r: _Reader) -> Lock | None:
    markers = [n for n, line in enumerate(r.text.splitlines(), 1) if line.lstrip().startswith(_MARKERS)]
    if markers:
        r.emit(
            codes.LOCK_CONFLICT,
            f"`{r.rel}` has unresolved git conflict markers (lines {', '.join(map(str, markers[:6]))})",
            Span.point(r.rel, markers[0]),
            help="do not merge the lock by hand: take one side (`git checkout --theirs timescape.lock`), "
            "then re-record your branch's changes with `gatic version record`",
        )
        return None
    try:
        raw = orjson.loads(r.text)
    except orjson.JSONDecodeError as exc:
        r.emit(
            codes.LOCK_SYNTAX,
            f"`{r.rel}` is not valid JSON: {exc.msg}",
            Span.point(r.rel, max(exc.lineno, 1), max(exc.colno, 1)),
        )
        return None
    if not isinstance(raw, dict) or raw.get("format") != LOCK_FORMAT:
        r.emit(
            codes.LOCK_FORMAT,
            f'`{r.rel}` is not a gati Timescape lock (no `"format": "{LOCK_FORMAT}"`)',
            r.at(("format",)),
        )
        return None
    version = raw.get("formatVersion")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1 or version > FORMAT_VERSION:
        newer = isinstance(version, int) and version > FORMAT_VERSION
        r.emit(
            codes.LOCK_FORMAT,
            f"`{r.rel}` has format version {version!r}; this gati reads version {FORMAT_VERSION}",
            r.at(("formatVersion",)),
            help="upgrade gati: the lock was written by a newer release" if newer else None,
        )
        return None
    try:
        doc = _LockDoc.model_validate(raw)
    except ValidationError as exc:
        for err in exc.errors()[:10]:
            loc = tuple(err["loc"])
            where = ".".join(str(p) for p in loc) or "(document)"
            r.emit(codes.LOCK_SCHEMA, f"`{where}`: {err['msg'].lower()}", r.at(loc))
        return None
    return _check(r, doc)


def _check(r: _Reader, doc: _LockDoc) -> Lock | None:
    gtypes: dict[str, Mapping[str, JsonValue]] = {}
    for ref, body in doc.gtypes.items():
        if object_hash(body) != ref:
            r.emit(codes.LOCK_HASH_MISMATCH, f"type `{ref[:19]}…` does not match its hash", r.at(("gtypes", ref)))
            continue
        try:
            load_gtype(body)
        except ValidationError as exc:
            r.emit(codes.LOCK_SCHEMA, f"type `{ref[:19]}…` is not a GType: {_first(exc)}", r.at(("gtypes", ref)))
            continue
        gtypes[ref] = body
    contracts: dict[str, StoredContract] = {}
    for ref, c in doc.contracts.items():
        stored = StoredContract(handler=c.handler, types=c.types)
        path: JsonPath = ("contracts", ref)
        if object_hash(stored.to_json()) != ref:
            r.emit(codes.LOCK_HASH_MISMATCH, f"contract `{ref[:19]}…` does not match its hash", r.at(path))
            continue
        try:
            HandlerContract.model_validate(c.handler)
        except ValidationError as exc:
            r.emit(codes.LOCK_SCHEMA, f"contract `{ref[:19]}…` is not a handler contract: {_first(exc)}", r.at(path))
            continue
        for name, gref in c.types.items():
            if gref not in doc.gtypes:
                r.emit(
                    codes.LOCK_DANGLING_REF,
                    f"type `{name}` refers to `{gref[:19]}…`, which is not stored",
                    r.at((*path, "types", name)),
                )
        contracts[ref] = stored
    versions = _check_versions(r, doc, contracts)
    if r.sink.has_errors:
        return None
    return Lock(app=doc.app, versions=versions, contracts=contracts, gtypes=gtypes)


def _check_versions(r: _Reader, doc: _LockDoc, contracts: Mapping[str, StoredContract]) -> tuple[Version, ...]:
    out: list[Version] = []
    names: dict[str, str] = {}
    existing: set[str] = set()
    previous: str | None = None
    for i, v in enumerate(doc.versions):
        path: JsonPath = ("versions", i)
        if parse_tsv(v.tsv) is None:
            r.emit(
                codes.LOCK_VERSIONS_INVALID,
                f"`{v.tsv}` is not a TSV (`YYYY-MM-DDTHH:MM:SSZ`, UTC)",
                r.at((*path, "tsv")),
            )
        elif previous is not None and v.tsv <= previous:
            r.emit(
                codes.LOCK_VERSIONS_INVALID,
                f"version `{v.tsv}` is not newer than `{previous}`: versions must be in increasing order",
                r.at((*path, "tsv")),
            )
        previous = v.tsv
        for kind, items in (("tags", v.tags), ("labels", v.labels)):
            for j, name in enumerate(items):
                problem = name_problem(name)
                if problem is not None:
                    r.emit(codes.LOCK_VERSIONS_INVALID, problem, r.at((*path, kind, j)))
                elif name in names:
                    r.emit(
                        codes.LOCK_VERSIONS_INVALID,
                        f"`{name}` names both `{names[name]}` and `{v.tsv}`",
                        r.at((*path, kind, j)),
                    )
                names[name] = v.tsv
        _check_status(r, v, path, last=i == len(doc.versions) - 1)
        for hid, ref in v.handlers.items():
            if ref is None and hid not in existing:
                r.emit(
                    codes.LOCK_VERSIONS_INVALID,
                    f"version `{v.tsv}` removes `{hid}`, which does not exist",
                    r.at((*path, "handlers", hid)),
                )
            elif ref is not None and ref not in doc.contracts:
                r.emit(
                    codes.LOCK_DANGLING_REF,
                    f"handler `{hid}` of `{v.tsv}` refers to `{ref[:19]}…`, which is not stored",
                    r.at((*path, "handlers", hid)),
                )
            elif ref is not None and ref in contracts and contracts[ref].handler.get("handlerId") != hid:
                r.emit(
                    codes.LOCK_VERSIONS_INVALID,
                    f"handler `{hid}` of `{v.tsv}` refers to another handler's contract",
                    r.at((*path, "handlers", hid)),
                )
            if ref is None:
                existing.discard(hid)
            else:
                existing.add(hid)
        out.append(
            Version(
                tsv=v.tsv,
                tags=tuple(v.tags),
                labels=tuple(v.labels),
                status=v.status,
                deprecatedAt=v.deprecatedAt,
                sunset=v.sunset,
                retiredAt=v.retiredAt,
                handlers=dict(v.handlers),
            )
        )
    return tuple(out)


def _check_status(r: _Reader, v: _VersionDoc, path: JsonPath, *, last: bool) -> None:
    def bad(message: str, key: str) -> None:
        r.emit(codes.LOCK_VERSIONS_INVALID, message, r.at((*path, key)))

    for key in ("deprecatedAt", "retiredAt"):
        value = getattr(v, key)
        if value is not None and parse_tsv(value) is None:
            bad(f"`{key}` `{value}` is not a TSV (`YYYY-MM-DDTHH:MM:SSZ`)", key)
    if v.sunset is not None and parse_date(v.sunset) is None:
        bad(f"sunset `{v.sunset}` is not a date (`YYYY-MM-DD`)", "sunset")
    if v.status == "deprecated" and (v.sunset is None or v.deprecatedAt is None):
        bad(f"deprecated version `{v.tsv}` needs `deprecatedAt` and `sunset`", "status")
    if v.status == "retired" and v.retiredAt is None:
        bad(f"retired version `{v.tsv}` needs `retiredAt`", "status")
    if v.status == "active" and (v.sunset, v.deprecatedAt, v.retiredAt) != (None, None, None):
        bad(f"active version `{v.tsv}` has deprecation or retirement fields", "status")
    if v.status == "retired" and last:
        bad(f"the latest version `{v.tsv}` is retired: clients without a version would have nothing to call", "status")


def _first(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    return f"{where}: {err['msg'].lower()}" if where else str(err["msg"]).lower()
