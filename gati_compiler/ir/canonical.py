"""Canonical forms of the IR: `dump_ir`/`load_ir`, canonical GTypes and contract fingerprints.

The canonical form of a GType drops what does not change the wire contract (descriptions,
Python origins) and sorts what has no order on the wire (properties, union options, literal
values, enum members), so fingerprints change exactly when the contract does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import assert_never

from pydantic import JsonValue, TypeAdapter

from gati_compiler.canonical import compact_json, sha256_digest
from gati_compiler.ir.gtype import (
    AnyType,
    ArrayType,
    EnumType,
    GType,
    IntersectionType,
    LiteralType,
    MapType,
    ObjectType,
    PrimitiveType,
    RefType,
    TupleType,
    UnionType,
)
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


def children(gtype: GType) -> list[GType]:
    """The GTypes written directly inside `gtype` (a ref's target is not one of them)."""
    match gtype:
        case ObjectType():
            return [p.type for p in gtype.properties]
        case ArrayType():
            return [gtype.items]
        case MapType():
            return [gtype.keys, gtype.values]
        case TupleType():
            return list(gtype.items)
        case UnionType():
            return list(gtype.options)
        case IntersectionType():
            return list(gtype.parts)
        case RefType() | PrimitiveType() | LiteralType() | EnumType() | AnyType():
            return []
        case _:
            assert_never(gtype)


def refs_in(gtype: GType) -> list[str]:
    """The refs that appear in `gtype` itself (not through other named types)."""
    if isinstance(gtype, RefType):
        return [gtype.ref]
    return [r for child in children(gtype) for r in refs_in(child)]


def reachable(
    roots: Iterable[GType], gtypes: Mapping[str, GType], refs_of: Callable[[str], Iterable[str]] | None = None
) -> frozenset[str]:
    """Every named type `roots` refer to, directly or through other named types. `refs_of`
    (the refs of a named type's own definition) lets a caller reuse what it already found."""
    direct = refs_of or (lambda ref: refs_in(gtypes[ref]))
    seen: set[str] = set()
    stack = [ref for root in roots for ref in refs_in(root)]
    while stack:
        ref = stack.pop()
        if ref not in seen and ref in gtypes:
            seen.add(ref)
            stack.extend(direct(ref))
    return frozenset(seen)


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
            found = self._direct[ref] = frozenset(refs_in(self._gtypes[ref]))
        return found

    def closure(self, roots: list[GType]) -> list[str]:
        return sorted(reachable(roots, self._gtypes, self._refs_of))


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
