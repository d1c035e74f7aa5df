"""`PyTypes(wire=True)`: GTypes as the annotations of their JSON form (Timescape's per-version types)."""

from __future__ import annotations

import pytest

from gati_compiler.emit._sdk_python_types import PyTypes, build_models_view
from gati_compiler.ir.gtype import (
    ArrayType,
    EnumMember,
    EnumType,
    GType,
    MapType,
    PrimitiveType,
    RefType,
    TupleType,
)

INT = PrimitiveType(type="integer")
COLOR = EnumType(name="Color", members=(EnumMember(name="RED", value="red"), EnumMember(name="BLUE", value="blue")))


@pytest.mark.parametrize(
    ("gtype", "decoded", "wire"),
    [
        (PrimitiveType(type="string", format="date-time"), "datetime.datetime", "str"),
        (PrimitiveType(type="string", format="uuid"), "uuid.UUID", "str"),
        (PrimitiveType(type="string", format="decimal"), "decimal.Decimal", "str"),
        (PrimitiveType(type="string", format="bytes"), "bytes", "str"),
        (ArrayType(items=INT, container="set"), "set[int]", "list[int]"),
        (ArrayType(items=INT, container="tuple"), "tuple[int, ...]", "list[int]"),
        (TupleType(items=(INT, PrimitiveType(type="string"))), "tuple[int, str]", "list[int | str]"),
        (MapType(keys=INT, values=INT), "dict[int, int]", "dict[str, int]"),
        (RefType(ref="app.models:Color"), "Color", "Color"),
    ],
)
def test_wire_form_keeps_json_shapes_where_the_decoded_form_has_python_types(
    gtype: GType, decoded: str, wire: str
) -> None:
    names = {"app.models:Color": "Color"}
    gtypes: dict[str, GType] = {"app.models:Color": COLOR}
    assert PyTypes(names, gtypes).render(gtype) == decoded
    assert PyTypes(names, gtypes, wire=True).render(gtype) == wire


def test_wire_models_turn_enums_into_literal_aliases() -> None:
    view = build_models_view({"app.models:Color": COLOR}, header="h", wire=True)
    assert view.enums == ()
    assert [(a.name, a.value) for a in view.aliases] == [("Color", 'typing.Literal["red", "blue"]')]
    assert [e.name for e in build_models_view({"app.models:Color": COLOR}, header="h").enums] == ["Color"]
