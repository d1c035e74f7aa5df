"""GType -> JSON Schema 2020-12: per-kind output, refs, formats, and SPEC section 4 semantics."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from pydantic import JsonValue

from gati_compiler.ir.gtype import (
    NULL,
    AnyType,
    ArrayType,
    EnumMember,
    EnumType,
    GType,
    IntersectionType,
    LiteralType,
    MapType,
    ObjectType,
    Origin,
    PrimitiveType,
    Property,
    RefType,
    TupleType,
    UnionType,
)
from gati_compiler.ir.jsonschema import (
    FORMAT_PATTERNS,
    SCHEMA_DIALECT,
    gtypes_json_schema,
    ref_pointer,
    to_json_schema,
)

INT = PrimitiveType(type="integer")
STR = PrimitiveType(type="string")

CONVERSIONS: list[tuple[GType, dict[str, JsonValue]]] = [
    (INT, {"type": "integer"}),
    (
        PrimitiveType(type="number", minimum=0, exclusiveMaximum=1.5, multipleOf=0.5),
        {"type": "number", "minimum": 0, "exclusiveMaximum": 1.5, "multipleOf": 0.5},
    ),
    (
        PrimitiveType(type="string", minLength=1, maxLength=3, pattern="^a"),
        {"type": "string", "minLength": 1, "maxLength": 3, "pattern": "^a"},
    ),
    (NULL, {"type": "null"}),
    (LiteralType(values=("a",)), {"const": "a"}),
    (LiteralType(values=(1, None)), {"enum": [1, None]}),
    (
        ArrayType(items=INT, minItems=1, uniqueItems=True),
        {"type": "array", "items": {"type": "integer"}, "minItems": 1, "uniqueItems": True},
    ),
    (ArrayType(items=INT, container="set"), {"type": "array", "items": {"type": "integer"}, "x-gati-container": "set"}),
    (
        TupleType(items=(INT, STR)),
        {
            "type": "array",
            "prefixItems": [{"type": "integer"}, {"type": "string"}],
            "items": False,
            "minItems": 2,
            "maxItems": 2,
        },
    ),
    (
        MapType(keys=STR, values=INT, maxProperties=2),
        {"type": "object", "additionalProperties": {"type": "integer"}, "maxProperties": 2},
    ),
    (
        MapType(keys=PrimitiveType(type="string", minLength=2), values=INT),
        {"type": "object", "additionalProperties": {"type": "integer"}, "propertyNames": {"minLength": 2}},
    ),
    (UnionType(options=(INT, NULL)), {"anyOf": [{"type": "integer"}, {"type": "null"}]}),
    (
        IntersectionType(parts=(RefType(ref="A"), RefType(ref="B"))),
        {"allOf": [{"$ref": "#/$defs/A"}, {"$ref": "#/$defs/B"}]},
    ),
    (AnyType(), {}),
    (PrimitiveType(type="boolean", description="flag"), {"type": "boolean", "description": "flag"}),
]


@pytest.mark.parametrize(("gtype", "expected"), CONVERSIONS)
def test_conversion(gtype: GType, expected: dict[str, JsonValue]) -> None:
    assert to_json_schema(gtype) == expected


def test_object_keeps_everything() -> None:
    gtype = ObjectType(
        name="User",
        properties=(
            Property(name="id", type=INT, required=True, description="the id", readOnly=True),
            Property(name="nick", type=STR, required=False, hasDefault=True, default="n"),
        ),
        extra="forbid",
        origin=Origin(module="app.models", qualname="User", kind="model"),
    )
    assert to_json_schema(gtype) == {
        "type": "object",
        "title": "User",
        "properties": {
            "id": {"type": "integer", "description": "the id", "readOnly": True},
            "nick": {"type": "string", "default": "n"},
        },
        "required": ["id"],
        "additionalProperties": False,
        "x-gati-origin": {"module": "app.models", "qualname": "User", "kind": "model"},
    }


def test_enum_keeps_names() -> None:
    gtype = EnumType(name="Color", members=(EnumMember(name="RED", value="red"), EnumMember(name="ONE", value=1)))
    assert to_json_schema(gtype) == {"title": "Color", "enum": ["red", 1], "x-enum-varnames": ["RED", "ONE"]}


def test_ref_pointer_escapes() -> None:
    assert ref_pointer("User") == "#/$defs/User"
    assert ref_pointer("Page[int]") == "#/$defs/Page%5Bint%5D"
    assert ref_pointer("a/b~c") == "#/$defs/a~1b~0c"


def test_document_with_defs_validates() -> None:
    gtypes: dict[str, GType] = {
        "Page[int]": ObjectType(properties=(Property(name="items", type=ArrayType(items=INT), required=True),)),
        "Node": ObjectType(
            properties=(Property(name="next", type=UnionType(options=(RefType(ref="Node"), NULL)), required=True),)
        ),
    }
    doc = gtypes_json_schema(gtypes, RefType(ref="Page[int]"))
    assert doc["$schema"] == SCHEMA_DIALECT
    assert list(doc["$defs"]) == ["Node", "Page[int]"]  # type: ignore[arg-type]
    jsonschema.Draft202012Validator.check_schema(doc)
    validator = jsonschema.Draft202012Validator(doc)
    assert validator.is_valid({"items": [1, 2.0]})
    assert not validator.is_valid({"items": [True]})
    node = jsonschema.Draft202012Validator({**gtypes_json_schema(gtypes), "$ref": "#/$defs/Node"})
    assert node.is_valid({"next": {"next": None}})
    assert not node.is_valid({"next": {"next": 1}})


SEMANTICS: list[tuple[GType, Any, bool]] = [
    (INT, 3.0, True),
    (INT, True, False),
    (PrimitiveType(type="number"), False, False),
    (LiteralType(values=(1,)), True, False),
    (EnumType(name="E", members=(EnumMember(name="A", value=1),)), 1.0, True),
    (ObjectType(properties=(Property(name="a", type=INT, required=True),)), {"a": 1, "b": 2}, True),
    (ObjectType(properties=(Property(name="a", type=INT, required=True),), extra="forbid"), {"a": 1, "b": 2}, False),
    (PrimitiveType(type="number", format="decimal"), "1.5", True),
    (PrimitiveType(type="number", format="decimal"), 1.5, True),
    (PrimitiveType(type="number", format="decimal"), "x", False),
    (PrimitiveType(type="string", format="date-time"), "2020-01-01T00:00:00Z", True),
    (PrimitiveType(type="string", format="date-time"), "2020-01-01 00:00", True),
    (PrimitiveType(type="string", format="date-time"), "2020-02-30T00:00:00Z", False),
    (PrimitiveType(type="string", format="date"), "2000-02-29", True),
    (PrimitiveType(type="string", format="date"), "1900-02-29", False),
    (PrimitiveType(type="string", format="time"), "23:59:59.5+01:00", True),
    (PrimitiveType(type="string", format="uuid"), "not-a-uuid", False),
    (PrimitiveType(type="string", format="uuid"), "{12345678-1234-5678-1234-567812345678}", True),
    (MapType(keys=INT, values=INT), {"12": 1}, True),
    (MapType(keys=INT, values=INT), {"x": 1}, False),
]


@pytest.mark.parametrize(("gtype", "value", "valid"), SEMANTICS)
def test_schema_semantics(gtype: GType, value: Any, valid: bool) -> None:
    assert jsonschema.Draft202012Validator(to_json_schema(gtype)).is_valid(value) is valid


def test_format_patterns_are_anchored() -> None:
    for pattern in FORMAT_PATTERNS.values():
        assert pattern.startswith("^")
        assert pattern.endswith("$")
