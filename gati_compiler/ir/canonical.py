"""Canonical forms of the IR: `dump_ir`/`load_ir`, canonical GTypes and contract fingerprints.

The canonical form of a GType drops what does not change the wire contract (descriptions,
Python origins) and sorts what has no order on the wire (properties, union options, literal
values, enum members), so fingerprints change exactly when the contract does.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import JsonValue, TypeAdapter

from gati_compiler.canonical import compact_json, sha256_digest
from gati_compiler.ir.gtype import GType
from gati_compiler.ir.models import HandlerGTypes, Program

_GTYPE: TypeAdapter[GType] = TypeAdapter(GType)
_DROP = frozenset({"description", "origin", "pyName", "name"})


def dump_gtype(g: GType) -> dict[str, JsonValue]:
    out = g.model_dump(mode="json", exclude_none=True)
    return out


def load_gtype(data: object) -> GType:
    return _GTYPE.validate_python(data)


def dump_ir(program: Program) -> dict[str, JsonValue]:
    """The canonical JSON form of a program (`gatic build --dump=ir`)."""
    return program.model_dump(mode="json", exclude_none=True)


def load_ir(data: Mapping[str, object]) -> Program:
    return Program.model_validate(data)


def _canon(value: JsonValue, key: str | None = None) -> JsonValue:
    # JSON-mode dumps hold plain dicts and lists only; scalars are kept without a call
    if type(value) is dict:
        out = {
            k: _canon(v, k) if type(v) is dict or type(v) is list else v
            for k, v in value.items()
            if k not in _DROP or (k == "name" and "type" in value and "required" in value)
        }
        return out
    if type(value) is list:
        items = [_canon(v) if type(v) is dict or type(v) is list else v for v in value]
        if key in ("properties", "options", "members", "values", "parts"):
            items.sort(key=compact_json)
        return items
    return value


def canonical_gtype(g: GType) -> JsonValue:
    """The normalised form fingerprints hash."""
    return _canon(dump_gtype(g))


def _refs(value: JsonValue, out: set[str]) -> None:
    if type(value) is dict:
        if value.get("kind") == "ref" and isinstance(value.get("ref"), str):
            out.add(str(value["ref"]))
        for v in value.values():
            if type(v) is dict or type(v) is list:
                _refs(v, out)
    elif type(value) is list:
        for v in value:
            if type(v) is dict or type(v) is list:
                _refs(v, out)


def reachable(roots: list[GType], gtypes: Mapping[str, GType]) -> list[str]:
    """Every named type reachable from `roots`, sorted."""
    seen: set[str] = set()
    todo: set[str] = set()
    for r in roots:
        _refs(dump_gtype(r), todo)
    while todo:
        ref = todo.pop()
        if ref in seen or ref not in gtypes:
            continue
        seen.add(ref)
        _refs(dump_gtype(gtypes[ref]), todo)
    return sorted(seen)


class FingerprintIndex:
    """Canonical forms and reference closures of named types, computed once per program."""

    def __init__(self, gtypes: Mapping[str, GType]) -> None:
        self._gtypes = gtypes
        self._canon: dict[str, JsonValue] = {}
        self._direct: dict[str, frozenset[str]] = {}

    def canon(self, ref: str) -> JsonValue:
        found = self._canon.get(ref)
        if found is None:
            found = self._canon[ref] = canonical_gtype(self._gtypes[ref])
        return found

    def _refs_of(self, ref: str) -> frozenset[str]:
        found = self._direct.get(ref)
        if found is None:
            out: set[str] = set()
            _refs(dump_gtype(self._gtypes[ref]), out)
            found = self._direct[ref] = frozenset(out)
        return found

    def closure(self, roots: list[GType]) -> list[str]:
        todo: set[str] = set()
        for r in roots:
            _refs(dump_gtype(r), todo)
        seen: set[str] = set()
        while todo:
            ref = todo.pop()
            if ref in seen or ref not in self._gtypes:
                continue
            seen.add(ref)
            todo |= self._refs_of(ref) - seen
        return sorted(seen)


def contract_fingerprint(
    method: str, path: str, parts: HandlerGTypes, gtypes: Mapping[str, GType], index: FingerprintIndex | None = None
) -> str:
    """Hash of a handler's public contract: method, path, and the canonical request, response,
    params and query types together with every named type they reach."""
    index = index or FingerprintIndex(gtypes)
    roots = {k: getattr(parts, k) for k in ("request", "response", "params", "query")}
    present = [g for g in roots.values() if g is not None]
    contract: dict[str, JsonValue] = {
        "method": method,
        "path": path,
        "types": {k: canonical_gtype(g) if g is not None else None for k, g in roots.items()},
        "defs": {ref: index.canon(ref) for ref in index.closure(present)},
    }
    return sha256_digest(compact_json(contract).encode())
