"""`_sdk_common._refs_of` walks the GType tree: the refs it finds are the ones a walk of the type's
JSON dump finds, including a ref-shaped object inside a property's default value."""

from __future__ import annotations

from gati_compiler.emit._sdk_common import _refs_of
from gati_compiler.ir.gtype import (
    ArrayType,
    GType,
    MapType,
    ObjectType,
    PrimitiveType,
    Property,
    RefType,
    TupleType,
    UnionType,
)


def _dump_walk(gtype: GType) -> set[str]:
    found: set[str] = set()
    stack: list[object] = [gtype.model_dump(mode="python")]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("kind") == "ref" and isinstance(item.get("ref"), str):
                found.add(item["ref"])
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return found


def test_refs_of_finds_what_a_walk_of_the_dump_finds() -> None:
    nested = ObjectType(
        properties=(
            Property(name="a", type=RefType(ref="A"), required=True),
            Property(
                name="b",
                type=ArrayType(items=UnionType(options=(RefType(ref="B"), PrimitiveType(type="null")))),
                required=True,
            ),
            Property(
                name="c", type=MapType(keys=PrimitiveType(type="string"), values=RefType(ref="C")), required=False
            ),
            Property(name="d", type=TupleType(items=(RefType(ref="D"),)), required=True),
            Property(
                name="e",
                type=PrimitiveType(type="string"),
                required=False,
                hasDefault=True,
                default={"kind": "ref", "ref": "FromDefault", "more": [{"kind": "ref", "ref": "Deeper"}]},
            ),
        )
    )
    for gtype in (nested, RefType(ref="X"), PrimitiveType(type="integer"), ArrayType(items=nested)):
        assert _refs_of(gtype) == _dump_walk(gtype)
    assert _refs_of(nested) == {"A", "B", "C", "D", "FromDefault", "Deeper"}
