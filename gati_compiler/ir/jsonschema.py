"""GType -> JSON Schema 2020-12, built as plain dicts (never templated).

Input: GTypes (`gati_compiler.ir.gtype`). Output: JSON-ready dicts. The schema accepts exactly
the documents the generated decoders accept (SPEC section 4): integral floats are integers,
`true` is never a number, string formats carry an anchored `pattern` so plain validators
enforce them, decimals accept a number or a numeric string. Nothing here reads or writes files.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, assert_never
from urllib.parse import quote

from pydantic import JsonValue

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

SCHEMA_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"

# Grammars shared with the generated decoders (`gati_compiler.emit.validators`). ASCII classes
# only (`[0-9]`, never `\d`), no look-around, so ECMA-262, Python `re` and hypothesis agree.
_YEAR: Final = "(?:[0-9]{3}[1-9]|[0-9]{2}[1-9][0-9]|[0-9][1-9][0-9]{2}|[1-9][0-9]{3})"
_MONTH_DAY: Final = (
    "(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
    "|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
    "|02-(?:0[1-9]|1[0-9]|2[0-8]))"
)
_LEAP_DAY: Final = "(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)-02-29"
_DATE: Final = f"(?:{_YEAR}-{_MONTH_DAY}|{_LEAP_DAY})"
_TIME: Final = "(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:[.,][0-9]+)?)?"
_TZ: Final = "(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):?[0-5][0-9])"
_HEX_UUID: Final = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


def at_most(limit: int, *, min_digits: int = 1) -> str:
    """A pattern (no anchors, no leading zeros) for the decimal integers from 0 to `limit`
    written with at least `min_digits` digits (1 or 2; `limit` has at least that many)."""
    digits = str(limit)
    if len(digits) < min_digits or min_digits not in (1, 2):
        raise ValueError(f"no {min_digits}-digit numbers up to {limit}")
    options = []
    if len(digits) > min_digits:  # fewer digits than `limit`
        more = len(digits) - 1 - min_digits
        options.append(("[0-9]" if min_digits == 1 else "[1-9][0-9]") + (f"[0-9]{{0,{more}}}" if more else ""))
    for i, ch in enumerate(digits):
        low, rest = (1 if i == 0 and len(digits) > 1 else 0), len(digits) - i - 1
        if int(ch) > low:
            top = int(ch) - 1
            span = str(low) if top == low else f"[{low}-{top}]"
            options.append(digits[:i] + span + (f"[0-9]{{{rest}}}" if rest else ""))
    options.append(digits)
    return "(?:" + "|".join(options) + ")"


def fraction_below(bound: str, *, or_equal: bool = False) -> str:
    """A pattern for the digit strings after a point whose value is below (or equal to) `0.<bound>`."""
    options = [bound[:i] for i in range(len(bound))]  # a shorter stem, then nothing
    if or_equal:
        options.append(bound + "0*")
    for i, ch in enumerate(bound):
        if ch != "0":
            top = int(ch) - 1
            options.append(bound[:i] + (str(top) if top == 0 else f"[0-{top}]") + "[0-9]*")
    return "(?:" + "|".join(sorted(set(options), key=lambda o: (len(o), o))) + ")"


# A numeric string is a unix timestamp (seconds, or milliseconds above 2e10 in magnitude), read
# as pydantic reads it, through a float: within the years 1 to 9999 that leaves every number
# but those past the last millisecond of 9999 or before 0001-01-01, where the float's precision
# (1/32 and 1/128 of a millisecond there) decides how much of a fraction still fits.
_LAST_MS: Final = 253402300799999  # 9999-12-31T23:59:59.999: a fraction below 0.984375 still fits
_FIRST_MS: Final = 62135596800000  # minus this: 0001-01-01T00:00:00: a fraction up to 0.00390625 fits
_TIMESTAMP: Final = (
    f"\\+?(?:0*{at_most(_LAST_MS - 1)}(?:\\.[0-9]*)?"
    f"|0*{_LAST_MS}(?:\\.{fraction_below('984375')})?|\\.[0-9]+)"
    f"|-(?:0*{at_most(_FIRST_MS - 1)}(?:\\.[0-9]*)?"
    f"|0*{_FIRST_MS}(?:\\.{fraction_below('00390625', or_equal=True)})?|\\.[0-9]+)"
)
_DATE_TIME_ISO: Final = f"{_DATE}[Tt _]{_TIME}{_TZ}?"
# ISO 8601 durations with at least one part, and at least one after a `T`
_ISO_SECONDS: Final = "[0-9]+(?:[.,][0-9]+)?S"
_ISO_TIME: Final = f"T(?:[0-9]+H(?:[0-9]+M)?(?:{_ISO_SECONDS})?|[0-9]+M(?:{_ISO_SECONDS})?|{_ISO_SECONDS})"
_ISO_DATE: Final = (
    "(?:[0-9]+Y(?:[0-9]+M)?(?:[0-9]+W)?(?:[0-9]+D)?|[0-9]+M(?:[0-9]+W)?(?:[0-9]+D)?|[0-9]+W(?:[0-9]+D)?|[0-9]+D)"
)
_DURATION_ISO: Final = f"[-+]?P(?:{_ISO_DATE}(?:{_ISO_TIME})?|{_ISO_TIME})"
# `[-+]D day[s][,] HH:MM[:SS[.f]]` (a time of day after the days) and `[-+]HH:MM[:SS[.f]]` (any
# number of hours), within timedelta's 999,999,999 days
_SECONDS: Final = ":[0-5][0-9](?:[.,][0-9]+)?"
_HOURS: Final = f"0*{at_most(2_400_000_000)}"  # pydantic takes up to 2,400,000,000 hours
_HOURS_2: Final = f"(?:0+{at_most(2_400_000_000)}|{at_most(2_400_000_000, min_digits=2)})"  # `HH:MM`: 2+ digits
_DURATION_TEXT: Final = (
    f"[-+]?(?:0*{at_most(999_999_999)} ?[dD](?:ays?|AYS?)?,? ?"
    f"(?:0*(?:[01][0-9]|2[0-3]):[0-5][0-9](?:{_SECONDS})?|0*[0-9]:[0-5][0-9]{_SECONDS})?"
    f"|{_HOURS_2}:[0-5][0-9](?:{_SECONDS})?|{_HOURS}:[0-5][0-9]{_SECONDS})"
)
ANNOTATED_FORMATS: Final = frozenset({"date-time", "time", "duration", "uuid", "email", "uri"})
"""Formats whose standard JSON Schema meaning is stricter than what the decoders accept. `date`
keeps its standard format: RFC 3339's full-date is exactly the ISO pattern below, and the one
thing the decoders take beyond it (an integer timestamp on a midnight) no pattern states."""
FORMAT_PATTERNS: Final[Mapping[str, str]] = {
    "date-time": f"^(?:{_DATE_TIME_ISO}|{_TIMESTAMP})$",
    # the decoders also take an integer timestamp that falls on a midnight; "a multiple of 86400"
    # has no pattern, so the schema keeps to ISO dates (accepting less, never more)
    "date": f"^{_DATE}$",
    "time": f"^{_TIME}{_TZ}?$",
    "uuid": f"^(?:[0-9a-fA-F]{{32}}|{_HEX_UUID}|\\{{{_HEX_UUID}\\}}|urn:uuid:{_HEX_UUID})$",
    "duration": f"^(?:{_DURATION_ISO}|{_DURATION_TEXT})$",
    # `Decimal` refuses exponents past 10**18 - 1: at most 18 significant exponent digits.
    "decimal": "^[ \\t\\n\\r]*[+-]?(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)(?:[eE][+-]?0*[0-9]{1,18})?[ \\t\\n\\r]*$",
}
"""Anchored patterns for the string formats the decoders parse (`decimal`: its string form)."""
ISO_PATTERNS: Final[Mapping[str, str]] = {
    "date-time-iso": f"^{_DATE_TIME_ISO}$",
    "duration-iso": f"^{_DURATION_ISO}$",
}
"""The ISO 8601 parts of the `date-time` and `duration` patterns alone."""

_NUMERIC_KEYS: Final = ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum", "multipleOf")


def ref_pointer(ref: str) -> str:
    """The `$ref` value for the named type `ref` (JSON pointer escaped, then URI-quoted)."""
    token = ref.replace("~", "~0").replace("/", "~1")
    return "#/$defs/" + quote(token, safe="~!$&'()*+,;=:@-._")


def to_json_schema(gtype: GType) -> dict[str, JsonValue]:
    """Convert one GType; refs become `{"$ref": "#/$defs/<ref>"}`."""
    schema = _convert(gtype)
    if gtype.description is not None:
        schema["description"] = gtype.description
    return schema


def gtypes_json_schema(gtypes: Mapping[str, GType], root: GType | None = None) -> dict[str, JsonValue]:
    """A self-contained 2020-12 document: every named type under `$defs`, `root` at the top."""
    defs: dict[str, JsonValue] = {name: to_json_schema(gtypes[name]) for name in sorted(gtypes)}
    doc: dict[str, JsonValue] = {"$schema": SCHEMA_DIALECT}
    if root is not None:
        doc.update(to_json_schema(root))
    if defs:
        doc["$defs"] = defs
    return doc


def merge_intersection(parts: list[ObjectType]) -> ObjectType:
    """The one object an intersection of objects means: properties merged, later parts win."""
    props: dict[str, Property] = {}
    extra: str = "ignore"
    for part in parts:
        for prop in part.properties:
            props[prop.name] = prop
        if part.extra == "forbid":
            extra = "forbid"
    return ObjectType(properties=tuple(props.values()), extra="forbid" if extra == "forbid" else "ignore")


def _convert(t: GType) -> dict[str, JsonValue]:
    match t:
        case PrimitiveType():
            return _primitive(t)
        case LiteralType():
            values: list[JsonValue] = list(t.values)
            return {"const": values[0]} if len(values) == 1 else {"enum": values}
        case EnumType():
            enum_schema: dict[str, JsonValue] = {
                "title": t.name,
                "enum": [m.value for m in t.members],
                "x-enum-varnames": [m.name for m in t.members],
            }
            if t.origin is not None:
                enum_schema["x-gati-origin"] = t.origin.model_dump()
            return enum_schema
        case ObjectType():
            return _object(t)
        case ArrayType():
            arr: dict[str, JsonValue] = {"type": "array", "items": to_json_schema(t.items)}
            if t.minItems is not None:
                arr["minItems"] = t.minItems
            if t.maxItems is not None:
                arr["maxItems"] = t.maxItems
            if t.uniqueItems:
                arr["uniqueItems"] = True
            if t.container != "list":
                arr["x-gati-container"] = t.container
            return arr
        case TupleType():
            n = len(t.items)
            tup: dict[str, JsonValue] = {"type": "array", "minItems": n, "maxItems": n}
            if n:
                tup["prefixItems"] = [to_json_schema(item) for item in t.items]
            tup["items"] = False
            return tup
        case MapType():
            mapping: dict[str, JsonValue] = {"type": "object", "additionalProperties": to_json_schema(t.values)}
            keys = _property_names(t.keys)
            if keys:
                mapping["propertyNames"] = keys
            if t.minProperties is not None:
                mapping["minProperties"] = t.minProperties
            if t.maxProperties is not None:
                mapping["maxProperties"] = t.maxProperties
            return mapping
        case UnionType():
            union: dict[str, JsonValue] = {"anyOf": [to_json_schema(option) for option in t.options]}
            if t.discriminator is not None:
                union["x-gati-discriminator"] = t.discriminator
            return union
        case IntersectionType():
            return {"allOf": [to_json_schema(part) for part in t.parts]}
        case RefType():
            return {"$ref": ref_pointer(t.ref)}
        case AnyType():
            return {}
        case _:
            assert_never(t)


def _primitive(t: PrimitiveType) -> dict[str, JsonValue]:
    if t.format == "decimal":
        number: dict[str, JsonValue] = {"type": "number"}
        number.update(_numeric_bounds(t))
        string: dict[str, JsonValue] = {"type": "string", "pattern": FORMAT_PATTERNS["decimal"]}
        return {"anyOf": [number, string], "format": "decimal"}
    schema: dict[str, JsonValue] = {"type": t.type}
    if t.format is not None:
        # A standard `format` is an assertion to validators such as schemathesis (RFC 3339 for
        # `date-time`), stricter than what the decoders take ("0001-01-01T00:00", a UUID without
        # hyphens, "1 day, 10:00"); the decoders' exact language is the pattern below, and the
        # format's name stays as an annotation no validator asserts.
        schema["x-gati-format" if t.format in ANNOTATED_FORMATS else "format"] = t.format
    if t.type == "string":
        if t.minLength is not None:
            schema["minLength"] = t.minLength
        if t.maxLength is not None:
            schema["maxLength"] = t.maxLength
        format_pattern = FORMAT_PATTERNS.get(t.format or "")
        if format_pattern is not None and t.pattern is not None:
            schema["pattern"] = format_pattern
            schema["allOf"] = [{"pattern": t.pattern}]
        elif format_pattern is not None or t.pattern is not None:
            schema["pattern"] = format_pattern or t.pattern
    elif t.type in ("integer", "number"):
        schema.update(_numeric_bounds(t))
    return schema


def _numeric_bounds(t: PrimitiveType) -> dict[str, JsonValue]:
    out: dict[str, JsonValue] = {}
    for key in _NUMERIC_KEYS:
        value = getattr(t, key)
        if value is not None:
            out[key] = value
    return out


def _property_names(keys: GType) -> dict[str, JsonValue]:
    if isinstance(keys, PrimitiveType) and keys.type == "integer":
        return {"pattern": "^-?(?:0|[1-9][0-9]*)$"}
    schema = to_json_schema(keys)
    schema.pop("type", None)
    return schema


def _object(t: ObjectType) -> dict[str, JsonValue]:
    schema: dict[str, JsonValue] = {"type": "object"}
    if t.name is not None:
        schema["title"] = t.name
    props: dict[str, JsonValue] = {}
    for prop in t.properties:
        sub = to_json_schema(prop.type)
        if prop.description is not None:
            sub["description"] = prop.description
        if prop.hasDefault:
            sub["default"] = prop.default
        if prop.readOnly:
            sub["readOnly"] = True
        if prop.pyName is not None:
            sub["x-gati-py-name"] = prop.pyName
        props[prop.name] = sub
    if props:
        schema["properties"] = props
    required: list[JsonValue] = [prop.name for prop in t.properties if prop.required]
    if required:
        schema["required"] = required
    if t.extra == "forbid":
        schema["additionalProperties"] = False
    elif t.extra == "allow":
        schema["x-gati-extra"] = "allow"
    if t.origin is not None:
        schema["x-gati-origin"] = t.origin.model_dump()
    return schema
