"""Hypothesis strategies of wire values (JSON) for a GType: what a client may send or a server
may answer. Used by the transformer verification child (`timescape.verify_child`).

Input: a GType and the named types it refers to. Output: a `SearchStrategy` of JSON values. The
strategies aim at the decoders' language, not at it exactly: the child keeps only the values the
generated decoder of the same version accepts, so a near miss costs an example, never a false
report. Recursion is bounded, containers stay small, and formats draw from their Python types
(`datetime` → its ISO string), so nearly every draw is valid.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Final

from hypothesis import strategies as st

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
from gati_compiler.ir.jsonschema import merge_intersection

MAX_ITEMS: Final = 3
MAX_DEPTH: Final = 4  # named types followed in a row (recursive types stop there)
_JSON_LEAVES: Final = st.none() | st.booleans() | st.integers(-(2**31), 2**31) | st.text(max_size=8)


def _duration(td: timedelta) -> str:
    seconds = td.total_seconds()
    sign = "-" if seconds < 0 else ""
    return f"{sign}PT{abs(seconds):.6f}S".replace(".000000S", "S")


_FORMATS: Final[Mapping[str, st.SearchStrategy[Any]]] = {
    "date-time": st.datetimes().map(lambda d: d.isoformat()),
    "date": st.dates().map(lambda d: d.isoformat()),
    "time": st.times().map(lambda t: t.isoformat()),
    "uuid": st.uuids().map(str),
    "duration": st.timedeltas(min_value=timedelta(days=-9999), max_value=timedelta(days=9999)).map(_duration),
    "decimal": st.decimals(allow_nan=False, allow_infinity=False, places=4, min_value=-(10**9), max_value=10**9).map(
        lambda d: str(d.normalize())
    ),
    "bytes": st.binary(max_size=12).map(lambda b: base64.b64encode(b).decode()),
}


def _number(t: PrimitiveType, integer: bool) -> st.SearchStrategy[Any]:
    lo = t.minimum if t.minimum is not None else t.exclusiveMinimum
    hi = t.maximum if t.maximum is not None else t.exclusiveMaximum
    if integer:
        low = None if lo is None else math.ceil(lo) + (1 if t.exclusiveMinimum is not None and lo == int(lo) else 0)
        high = None if hi is None else math.floor(hi) - (1 if t.exclusiveMaximum is not None and hi == int(hi) else 0)
        ints = st.integers(min_value=low, max_value=high)
        if t.multipleOf:
            step = int(t.multipleOf) or 1
            ints = ints.map(lambda n: n - n % step).filter(lambda n: low is None or n >= low)
        return ints
    return st.floats(
        min_value=lo,
        max_value=hi,
        allow_nan=False,
        allow_infinity=False,
        exclude_min=t.exclusiveMinimum is not None,
        exclude_max=t.exclusiveMaximum is not None,
    )


def _string(t: PrimitiveType) -> st.SearchStrategy[Any]:
    fmt = _FORMATS.get(t.format or "")
    if fmt is not None:
        return fmt
    if t.pattern is not None:
        base: st.SearchStrategy[str] = st.from_regex(t.pattern, fullmatch=False)
    else:
        base = st.text(min_size=t.minLength or 0, max_size=t.maxLength if t.maxLength is not None else 12)
    return base.filter(
        lambda s: (t.minLength is None or len(s) >= t.minLength) and (t.maxLength is None or len(s) <= t.maxLength)
    )


def wire_values(g: GType, gtypes: Mapping[str, GType], depth: int = 0) -> st.SearchStrategy[Any]:
    """JSON values of `g` (named types resolved through `gtypes`)."""
    again = depth
    match g:
        case PrimitiveType(type="string"):
            return _string(g)
        case PrimitiveType(type="integer"):
            return _number(g, integer=True)
        case PrimitiveType(type="number"):
            if g.format == "decimal":
                return _FORMATS["decimal"]
            return _number(g, integer=False)
        case PrimitiveType(type="boolean"):
            return st.booleans()
        case PrimitiveType():
            return st.none()
        case LiteralType():
            return st.sampled_from(g.values)
        case EnumType():
            return st.sampled_from([m.value for m in g.members])
        case ObjectType():
            return _object(g, gtypes, again)
        case ArrayType():
            low = g.minItems or 0
            high = max(low, min(g.maxItems if g.maxItems is not None else MAX_ITEMS, MAX_ITEMS))
            items = wire_values(g.items, gtypes, again)
            if items.is_empty:  # a recursive type at the depth limit: only the empty list
                return st.just([]) if low == 0 else st.nothing()
            return st.lists(items, min_size=low, max_size=high)
        case TupleType():
            return st.tuples(*(wire_values(i, gtypes, again) for i in g.items)).map(list)
        case MapType():
            keys = wire_values(g.keys, gtypes, again).map(lambda k: k if isinstance(k, str) else str(k))
            values = wire_values(g.values, gtypes, again)
            return st.just({}) if values.is_empty else st.dictionaries(keys, values, max_size=MAX_ITEMS)
        case UnionType():
            return st.one_of(*(wire_values(o, gtypes, again) for o in g.options))
        case IntersectionType():
            parts = [gtypes[p.ref] if isinstance(p, RefType) and p.ref in gtypes else p for p in g.parts]
            objects = [p for p in parts if isinstance(p, ObjectType)]
            if len(objects) == len(parts):
                return _object(merge_intersection(objects), gtypes, again)
            return st.nothing()
        case RefType():
            target = gtypes.get(g.ref)
            if target is None or depth >= MAX_DEPTH:
                return st.nothing()
            return wire_values(target, gtypes, depth + 1)
        case AnyType():
            return st.recursive(_JSON_LEAVES, lambda inner: st.lists(inner, max_size=2), max_leaves=4)


def _object(g: ObjectType, gtypes: Mapping[str, GType], depth: int) -> st.SearchStrategy[Any]:
    required = {p.name: wire_values(p.type, gtypes, depth) for p in g.properties if p.required}
    optional = {p.name: wire_values(p.type, gtypes, depth) for p in g.properties if not p.required}
    optional = {name: values for name, values in optional.items() if not values.is_empty}
    return st.fixed_dictionaries(required, optional=optional)
