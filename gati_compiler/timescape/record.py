"""Operations on a lock, as pure functions: record, tag, label, deprecate, retire.

Input: a `Lock` (or None for a project with no versions yet) and the operation's arguments,
including the moment it happens (`at`, a TSV: the CLI takes it from the clock). Output: a new
`Lock`. A refused operation raises `LockOpError` with a message for the user; nothing is
half-applied. The CLI writes the result atomically.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC

from pydantic import JsonValue

from gati_compiler.timescape.contract import ApiContract
from gati_compiler.timescape.lock import (
    Lock,
    StoredApi,
    StoredContract,
    Version,
    all_names,
    name_problem,
    parse_date,
    parse_timestamp,
    parse_tsv,
    store_contract,
)


class LockOpError(Exception):
    """A refused operation on the lock; the message says why and what to do instead."""


def _check_at(at: str) -> None:
    if parse_tsv(at) is None:
        raise LockOpError(f"`{at}` is not a TSV (`YYYY-MM-DDTHH:MM:SSZ`, UTC)")


def _check_new_names(lock: Lock | None, tags: tuple[str, ...], labels: tuple[str, ...]) -> None:
    taken = all_names(lock.versions) if lock is not None else {}
    seen: set[str] = set()
    for name in (*tags, *labels):
        problem = name_problem(name)
        if problem is not None:
            raise LockOpError(problem)
        if parse_timestamp(name) is not None:
            raise LockOpError(f"`{name}` reads as a timestamp; a tag or label must not")
        if name in seen:
            raise LockOpError(f"`{name}` is given twice")
        seen.add(name)
    for name in tags:
        if name in taken:
            raise LockOpError(f"`{name}` already names version `{taken[name]}`; a tag never moves (use a label)")


def changed_handlers(
    lock: Lock | None, contract: ApiContract, stored: StoredApi | None = None
) -> tuple[dict[str, str | None], bool]:
    """The delta a new version of `contract` would record, and whether the public contract
    changed at all (a moved source line alone is stored but is not a change). `stored`:
    `store_contract(contract)` when the caller has it."""
    refs, contracts, _ = stored or store_contract(contract)
    previous = lock.handler_maps[-1] if lock is not None and lock.versions else {}
    delta: dict[str, str | None] = {hid: ref for hid, ref in refs.items() if previous.get(hid) != ref}
    delta.update({hid: None for hid in previous if hid not in refs})
    if lock is None or not lock.versions:
        return delta, True
    old_shapes = lock.shapes_of(lock.versions[-1].tsv)
    new_shapes = {hid: contracts[ref].shape for hid, ref in refs.items()}
    return delta, old_shapes != new_shapes


def record(
    lock: Lock | None,
    contract: ApiContract,
    *,
    at: str,
    tags: tuple[str, ...] = (),
    labels: tuple[str, ...] = (),
    allow_empty: bool = False,
) -> Lock:
    """A new version `at` holding `contract`, newest of all; labels move to it.

    Refused when `at` is not later than the latest version, when a tag is taken, and when the
    public contract is the latest version's unless `allow_empty`."""
    _check_at(at)
    latest = lock.latest if lock is not None else None
    if latest is not None and at <= latest.tsv:
        raise LockOpError(f"the new version `{at}` must be later than the latest, `{latest.tsv}`")
    _check_new_names(lock, tags, ())
    _check_new_names(None, (), labels)
    if lock is not None:
        moved = {n for v in lock.versions for n in v.tags if n in labels}
        if moved:
            raise LockOpError(f"`{sorted(moved)[0]}` is a tag; a label cannot take its name")
    stored = store_contract(contract)
    delta, changed = changed_handlers(lock, contract, stored)
    if not changed and not allow_empty:
        assert latest is not None
        raise LockOpError(
            f"nothing changed since version `{latest.tsv}`"
            + (f" ({', '.join(latest.tags)})" if latest.tags else "")
            + "; pass --allow-empty to record anyway"
        )
    _, new_contracts, new_gtypes = stored
    base = lock if lock is not None else Lock(app=contract.app)
    versions = [replace(v, labels=tuple(n for n in v.labels if n not in labels)) for v in base.versions]
    versions.append(Version(tsv=at, tags=tuple(sorted(tags)), labels=tuple(sorted(labels)), handlers=delta))
    contracts: dict[str, StoredContract] = {**base.contracts, **new_contracts}
    gtypes: dict[str, Mapping[str, JsonValue]] = {**base.gtypes, **new_gtypes}
    return Lock(app=contract.app, versions=tuple(versions), contracts=contracts, gtypes=gtypes)


def _find(lock: Lock, name: str) -> Version:
    found = lock.resolve(name)
    if found is None:
        known = ", ".join(v.tsv for v in lock.versions) or "none recorded"
        raise LockOpError(f"no version `{name}`; known: {known}")
    return found


def _swap(lock: Lock, old: Version, new: Version) -> Lock:
    return replace(lock, versions=tuple(new if v is old else v for v in lock.versions))


def tag(lock: Lock, version: str, name: str) -> Lock:
    """Give `version` the tag `name`; a tag names one version forever."""
    target = _find(lock, version)
    if name in target.tags:
        return lock
    if any(name in v.labels for v in lock.versions):
        raise LockOpError(f"`{name}` is a label; a tag cannot take its name")
    _check_new_names(lock, (name,), ())
    return _swap(lock, target, replace(target, tags=tuple(sorted((*target.tags, name)))))


def label(lock: Lock, version: str, name: str) -> Lock:
    """Move the label `name` to `version` (from whichever version had it)."""
    target = _find(lock, version)
    _check_new_names(None, (), (name,))
    if any(name in v.tags for v in lock.versions):
        raise LockOpError(f"`{name}` is a tag; a label cannot take its name")
    versions = []
    for v in lock.versions:
        labels = tuple(n for n in v.labels if n != name)
        if v is target:
            labels = tuple(sorted((*labels, name)))
        versions.append(replace(v, labels=labels))
    return replace(lock, versions=tuple(versions))


def deprecate(lock: Lock, version: str, *, sunset: str, at: str) -> Lock:
    """Mark `version` deprecated from `at` until `sunset` (an ISO date, not before `at`'s day).
    Deprecating again moves the sunset date."""
    _check_at(at)
    target = _find(lock, version)
    day = parse_date(sunset)
    if day is None:
        raise LockOpError(f"sunset `{sunset}` is not a date (`YYYY-MM-DD`)")
    moment = parse_tsv(at)
    assert moment is not None
    if day < moment.astimezone(UTC).date():
        raise LockOpError(f"sunset `{sunset}` is in the past; retire the version instead (`gatic version retire`)")
    if target.status == "retired":
        raise LockOpError(f"version `{target.tsv}` is retired already")
    return _swap(
        lock,
        target,
        replace(target, status="deprecated", sunset=day.isoformat(), deprecatedAt=target.deprecatedAt or at),
    )


def retire(lock: Lock, version: str, *, at: str) -> Lock:
    """Retire `version`: the runtime answers it with 410 and names its successor. The latest
    version cannot be retired (clients without a version are served by it)."""
    _check_at(at)
    target = _find(lock, version)
    if target is lock.latest:
        raise LockOpError(f"version `{target.tsv}` is the latest; record a newer one before retiring it")
    if target.status == "retired":
        return lock
    return _swap(lock, target, replace(target, status="retired", retiredAt=at))


@dataclass(frozen=True)
class RecordRequest:
    """Record a version during a build (`gatic version record`, or `auto_record`).

    `at` is the new TSV; `auto` marks the automatic mode, where "nothing changed" is not an error."""

    at: str
    tags: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    allow_empty: bool = False
    auto: bool = False
