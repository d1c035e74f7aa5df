"""What a build takes from the lock: the `versions` of `manifest.json` and each handler's versions.

Input: a lowered `Program` and a checked `Lock`. Output: the program with `timescapeVersion` (the
version its current public contract was introduced in, None when that contract was never
recorded) and `timescapeVersions` (every version the handler exists in) on each handler, and the
JSON rows of `manifest.json`'s `versions`. Pure; the pipeline reads the lock.
"""

from __future__ import annotations

from pydantic import JsonValue

from gati_compiler.ir.models import Program
from gati_compiler.timescape.contract import contract_from_program
from gati_compiler.timescape.lock import Lock, store_contract


def manifest_versions(lock: Lock) -> list[JsonValue]:
    """One entry per version, oldest first, for `manifest.json` (what the runtime resolves against)."""
    rows: list[JsonValue] = []
    for v in lock.versions:
        row: dict[str, JsonValue] = {
            "tsv": v.tsv,
            "tags": list[JsonValue](sorted(v.tags)),
            "labels": list[JsonValue](sorted(v.labels)),
            "status": v.status,
        }
        for key in ("deprecatedAt", "sunset", "retiredAt"):
            value = getattr(v, key)
            if value is not None:
                row[key] = value
        successor = lock.successor(v.tsv)
        if successor is not None:
            row["successor"] = successor
        rows.append(row)
    return rows


def handler_versions(lock: Lock, program: Program) -> dict[str, tuple[str | None, tuple[str, ...]]]:
    """Handler id → (the version its current contract was introduced in, the versions it exists in)."""
    _, contracts, _ = store_contract(contract_from_program(program))
    current = {c.handler["handlerId"]: c.shape for c in contracts.values()}
    shapes = [lock.shapes_of(v.tsv) for v in lock.versions]
    out: dict[str, tuple[str | None, tuple[str, ...]]] = {}
    for h in program.handlers:
        hid = h.handlerId
        exists = tuple(v.tsv for v, s in zip(lock.versions, shapes, strict=True) if hid in s)
        introduced: str | None = None
        run_start: str | None = None
        for v, s in zip(lock.versions, shapes, strict=True):
            if s.get(hid) == current.get(hid):
                run_start = run_start or v.tsv
                introduced = run_start
            else:
                run_start = None
        out[hid] = (introduced, exists)
    return out


def current_version(lock: Lock, program: Program) -> str | None:
    """The latest recorded version when its public contract is exactly `program`'s, else None."""
    latest = lock.latest
    if latest is None:
        return None
    _, contracts, _ = store_contract(contract_from_program(program))
    current = {c.handler["handlerId"]: c.shape for c in contracts.values()}
    return latest.tsv if current == lock.shapes_of(latest.tsv) else None


def apply_lock(program: Program, lock: Lock) -> Program:
    """`program` with each handler's `timescapeVersion` and `timescapeVersions` filled in, and
    `timescapeCurrent` when the working tree is the latest recorded version."""
    found = handler_versions(lock, program)
    handlers = tuple(
        h.model_copy(update={"timescapeVersion": found[h.handlerId][0], "timescapeVersions": found[h.handlerId][1]})
        for h in program.handlers
    )
    return program.model_copy(update={"handlers": handlers, "timescapeCurrent": current_version(lock, program)})
