"""A GType as the Python SDK's decoders see it: every `origin` dropped (`client_gtype`), so the
client's decoders build the SDK's own classes and never import the server's modules."""

from __future__ import annotations

import math
from typing import Final, assert_never, cast

from pydantic import JsonValue, TypeAdapter

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
    Property,
    RefType,
    TupleType,
    UnionType,
)

_GTYPE: Final[TypeAdapter[GType]] = TypeAdapter(GType)


def _without_origin(value: JsonValue) -> JsonValue:
    # JSON-mode dumps hold plain dicts and lists only; scalars are returned without a call
    if type(value) is dict:
        out: dict[str, JsonValue] = {}
        for k, v in value.items():
            if k == "origin":
                continue
            if k == "properties" and type(v) is list:  # a property's `pyName` goes with the class
                v = [{pk: pv for pk, pv in p.items() if pk != "pyName"} if type(p) is dict else p for p in v]
            out[k] = _without_origin(v) if type(v) is dict or type(v) is list else v
        return out
    if type(value) is list:
        return [_without_origin(v) if type(v) is dict or type(v) is list else v for v in value]
    return value


def client_gtype(gtype: GType) -> GType:
    """`gtype` with every `origin` dropped, so SDK decoders never import the server's own modules,
    and every property's `pyName` (the SDK's TypedDicts are keyed by wire names).

    Named types are mapped to the SDK's classes through the class map; anything else decodes to
    plain data, which is what the SDK's annotations (`dict[str, Any]`, `Literal[...]`) promise.
    """
    stripped = _strip_origins(gtype)
    if stripped is not None:
        return stripped
    return _GTYPE.validate_python(_without_origin(_GTYPE.dump_python(gtype, mode="json")))


def _json_plain(value: object) -> bool:
    """Whether a JSON-mode dump and re-validation leave `value` as it is, with no `origin` key to drop."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return True
    if kind is float:
        return math.isfinite(cast(float, value))
    if kind is list:
        return all(_json_plain(v) for v in cast(list[object], value))
    if kind is dict:
        return all(
            type(k) is str and k != "origin" and _json_plain(v) for k, v in cast(dict[object, object], value).items()
        )
    return False


def _strip_origins(g: GType) -> GType | None:
    """`client_gtype` without the JSON round trip: frozen models, so untouched parts are shared.
    None when a value might not survive the round trip unchanged (the caller then does it)."""
    match g:
        case ObjectType():
            props: list[Property] = []
            for p in g.properties:
                t = _strip_origins(p.type)
                if t is None or not _json_plain(p.default):
                    return None
                if t is p.type and p.pyName is None:
                    props.append(p)
                else:
                    props.append(p.model_copy(update={"type": t, "pyName": None}))
            if g.origin is None and all(a is b for a, b in zip(props, g.properties, strict=True)):
                return g
            return g.model_copy(update={"origin": None, "properties": tuple(props)})
        case EnumType():
            if not all(_json_plain(m.value) for m in g.members):
                return None
            return g if g.origin is None else g.model_copy(update={"origin": None})
        case PrimitiveType():
            numbers = (g.minimum, g.exclusiveMinimum, g.maximum, g.exclusiveMaximum, g.multipleOf)
            return g if all(_json_plain(n) for n in numbers) else None
        case LiteralType():
            return g if all(_json_plain(v) for v in g.values) else None
        case RefType() | AnyType():
            return g
        case ArrayType():
            item = _strip_origins(g.items)
            return None if item is None else g if item is g.items else g.model_copy(update={"items": item})
        case MapType():
            keys, values = _strip_origins(g.keys), _strip_origins(g.values)
            if keys is None or values is None:
                return None
            return g if keys is g.keys and values is g.values else g.model_copy(update={"keys": keys, "values": values})
        case TupleType() | UnionType() | IntersectionType():
            old = g.items if isinstance(g, TupleType) else g.options if isinstance(g, UnionType) else g.parts
            new = [_strip_origins(x) for x in old]
            if any(x is None for x in new):
                return None
            if all(a is b for a, b in zip(new, old, strict=True)):
                return g
            field = "items" if isinstance(g, TupleType) else "options" if isinstance(g, UnionType) else "parts"
            return g.model_copy(update={field: tuple(new)})
        case _:
            assert_never(g)
