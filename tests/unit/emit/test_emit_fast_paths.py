"""The emitters' fast paths give exactly what the slow, obviously-correct forms give."""

from __future__ import annotations

import random

import pytest
from pydantic import JsonValue

from gati_compiler.emit import render
from gati_compiler.emit._sdk_origins import _GTYPE, _without_origin, client_gtype
from gati_compiler.emit._valwriter import CodeWriter
from gati_compiler.ir.gtype import (
    ArrayType,
    EnumMember,
    EnumType,
    GType,
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


def _slow_py_str(value: str) -> str:
    quote = "'" if value.count('"') > value.count("'") else '"'
    out = [quote]
    for ch in value:
        if ch == quote or ch == "\\":
            out.append("\\" + ch)
        elif ch.isprintable() or ch in "\"'":
            out.append(ch)
        else:
            out.append(repr(ch)[1:-1])
    out.append(quote)
    return "".join(out)


def test_py_str_fast_path_matches_char_by_char() -> None:
    rng = random.Random(7)
    alphabet = "ab \"'\\\n\t\r\x00\x7f\u00a0\u2028é\U0001f600"
    samples = ["", "plain", "it's", 'say "hi"', "a\\b", "\x00"]
    samples += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 10))) for _ in range(3000)]
    for value in samples:
        assert render.py_str(value) == _slow_py_str(value), value


def _round_trip(g: GType) -> GType:
    return _GTYPE.validate_python(_without_origin(_GTYPE.dump_python(g, mode="json")))


_ORIGIN = Origin(module="app.models", qualname="Thing", kind="model")


@pytest.mark.parametrize(
    "default",
    [None, 1, 1.5, "x", True, [1, "a"], {"a": {"b": [1]}}, {"origin": 1}, [{"origin": {"x": 1}}], float("inf")],
)
def test_client_gtype_matches_the_json_round_trip(default: JsonValue) -> None:
    inner = ObjectType(
        name="Inner",
        origin=_ORIGIN,
        properties=(Property(name="n", type=PrimitiveType(type="number", maximum=float("inf")), required=True),),
    )
    enum = EnumType(
        name="E", members=(EnumMember(name="A", value=1.0), EnumMember(name="B", value="b")), origin=_ORIGIN
    )
    g = ObjectType(
        name="Thing",
        origin=_ORIGIN,
        properties=(
            Property(name="a", type=RefType(ref="x"), required=False, hasDefault=True, default=default),
            Property(name="b", type=ArrayType(items=inner), required=True),
            Property(name="c", type=UnionType(options=(enum, PrimitiveType(type="null"))), required=True),
            Property(
                name="d",
                type=MapType(keys=PrimitiveType(type="string"), values=TupleType(items=(inner,))),
                required=True,
            ),
            Property(name="e", type=LiteralType(values=(1, 1.0, True, None, "s")), required=True),
            Property(name="f", type=PrimitiveType(type="integer", minimum=0, maximum=10.5), required=True),
        ),
    )
    for gtype in (g, inner, enum, ArrayType(items=g), PrimitiveType(type="string")):
        fast, slow = client_gtype(gtype), _round_trip(gtype)
        assert fast == slow
        assert fast.model_dump_json() == slow.model_dump_json()


def test_indent_adds_pass_to_empty_blocks_and_unwinds_on_error() -> None:
    w = CodeWriter(1)
    with w.indent():
        with w.indent():
            pass
        w.line("x")
    with pytest.raises(ValueError), w.indent():
        raise ValueError
    w.line("y")
    assert w.lines == ["            pass", "        x", "    y"]
    assert w.level == 1
