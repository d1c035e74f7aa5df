"""A corpus of varied Python types, each paired with the GType the compiler should derive for it.

Used by the decoder differential test (tests/property) and the validator unit tests. Every case's
root is registered under its own ref (`case.ref`); named types it uses live in `case.defs`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Annotated, Any, Final, Generic, Literal, NotRequired, TypeVar
from uuid import UUID

from annotated_types import Ge, Gt, Le, Lt, MaxLen, MinLen, MultipleOf
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, with_config
from typing_extensions import TypedDict

from gati_compiler.ir.gtype import (
    NULL,
    AnyType,
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

MODULE: Final = "tests.corpus_types"
T = TypeVar("T")


# -- the Python side -------------------------------------------------------------------------


class Color(enum.StrEnum):
    RED = "red"
    GREEN = "green"
    BLUE = "blue"


class Priority(enum.IntEnum):
    LOW = 1
    MID = 5
    HIGH = 10


class Shape(enum.Enum):
    CIRCLE = "circle"
    SQUARE = "square"


class Point(TypedDict):
    x: int
    y: int


class User(TypedDict):
    name: Annotated[str, MinLen(1)]
    nick: NotRequired[str]
    age: NotRequired[int | None]


class Options(TypedDict, total=False):
    verbose: bool
    level: Literal[1, 2, 3]


class Base(TypedDict):
    id: int


class Child(Base):
    label: str


class Page(TypedDict, Generic[T]):
    items: list[T]
    total: Annotated[int, Ge(0)]


@with_config(ConfigDict(extra="forbid"))
class Strict(TypedDict):
    a: int
    b: NotRequired[str]


class Node(TypedDict):
    value: int
    children: list[Node]


class Cat(TypedDict):
    kind: Literal["cat"]
    lives: Annotated[int, Ge(0), Le(9)]


class Dog(TypedDict):
    kind: Literal["dog"]
    good: bool


class Label(TypedDict):
    text: str


class Wrapper(TypedDict):
    inner: Point | None
    data: dict[str, list[int]]


class Stamp(TypedDict):
    at: datetime
    tag: Color
    day: NotRequired[date]


@dataclass
class Item:
    sku: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}-[0-9]{3}$")]
    qty: Annotated[int, Gt(0)] = 1
    tags: list[str] = field(default_factory=list)


@dataclass
class Order:
    id: UUID
    items: list[Item]
    created: datetime
    note: str | None = None


class Signup(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$", max_length=64)
    age: int = Field(ge=13, le=130)
    plan: Literal["free", "pro"] = "free"
    color: Color | None = None


class Profile(BaseModel):
    user_name: str = Field(alias="userName", min_length=2)
    score: float = Field(gt=0, le=1)
    shape: Shape


class Tree(BaseModel):
    name: str
    kids: list[Tree] = []


class Event(BaseModel):
    at: datetime
    day: date
    price: Decimal
    ref: UUID
    when: time | None = None


# -- helpers for the GType side --------------------------------------------------------------


def _s(**kw: Any) -> PrimitiveType:
    return PrimitiveType(type="string", **kw)


def _i(**kw: Any) -> PrimitiveType:
    return PrimitiveType(type="integer", **kw)


def _f(**kw: Any) -> PrimitiveType:
    return PrimitiveType(type="number", **kw)


_BOOL: Final = PrimitiveType(type="boolean")


def _ref(name: str) -> RefType:
    return RefType(ref=name)


def _p(name: str, gtype: GType, required: bool = True, **kw: Any) -> Property:
    return Property(name=name, type=gtype, required=required, **kw)


def _origin(qualname: str, kind: Literal["typeddict", "dataclass", "model", "enum"]) -> Origin:
    return Origin(module=MODULE, qualname=qualname, kind=kind)


def _obj(
    name: str, *props: Property, kind: Literal["typeddict", "dataclass", "model"] = "typeddict", **kw: Any
) -> ObjectType:
    return ObjectType(name=name, properties=props, origin=_origin(kw.pop("qualname", name), kind), **kw)


def _enum(cls: type[enum.Enum]) -> EnumType:
    members = tuple(EnumMember(name=m.name, value=m.value) for m in cls)
    return EnumType(name=cls.__name__, members=members, origin=_origin(cls.__qualname__, "enum"))


@dataclass(frozen=True)
class Case:
    """A Python type and its hand-written GType: `root` under ref `ref`, helpers in `defs`."""

    ref: str
    pytype: Any
    root: GType
    defs: Mapping[str, GType] = field(default_factory=dict)

    @property
    def gtypes(self) -> dict[str, GType]:
        return {**self.defs, self.ref: self.root}


_POINT: Final = _obj("Point", _p("x", _i()), _p("y", _i()))
_USER: Final = _obj(
    "User",
    _p("name", _s(minLength=1)),
    _p("nick", _s(), required=False),
    _p("age", UnionType(options=(_i(), NULL)), required=False),
)
_ITEM: Final = _obj(
    "Item",
    _p("sku", _s(pattern=r"^[A-Z]{3}-[0-9]{3}$")),
    _p("qty", _i(exclusiveMinimum=0), required=False, hasDefault=True, default=1),
    _p("tags", ArrayType(items=_s()), required=False, hasDefault=True, default=[]),
    kind="dataclass",
)
_COLOR: Final = _enum(Color)
_CAT: Final = _obj("Cat", _p("kind", LiteralType(values=("cat",))), _p("lives", _i(minimum=0, maximum=9)))
_DOG: Final = _obj("Dog", _p("kind", LiteralType(values=("dog",))), _p("good", _BOOL))
_NODE: Final = _obj("Node", _p("value", _i()), _p("children", ArrayType(items=_ref("Node"))))
_TREE: Final = _obj(
    "Tree",
    _p("name", _s()),
    _p("kids", ArrayType(items=_ref("Tree")), required=False, hasDefault=True, default=[]),
    kind="model",
)

CASES: Final[tuple[Case, ...]] = (
    Case("c_int", int, _i()),
    Case("c_int_bounded", Annotated[int, Gt(0), Le(100)], _i(exclusiveMinimum=0, maximum=100)),
    Case("c_int_multiple", Annotated[int, MultipleOf(5), Ge(-50)], _i(multipleOf=5, minimum=-50)),
    Case("c_float", float, _f()),
    Case("c_float_bounded", Annotated[float, Ge(0.5), Lt(10)], _f(minimum=0.5, exclusiveMaximum=10)),
    Case("c_bool", bool, _BOOL),
    Case("c_none", None, NULL),
    Case("c_str_len", Annotated[str, MinLen(2), MaxLen(8)], _s(minLength=2, maxLength=8)),
    Case(
        "c_str_pattern",
        Annotated[str, StringConstraints(pattern=r"^[a-z]{2,5}$")],
        _s(pattern=r"^[a-z]{2,5}$"),
    ),
    Case(
        "c_str_constraints",
        Annotated[str, StringConstraints(min_length=1, max_length=3, pattern=r"[0-9]")],
        _s(minLength=1, maxLength=3, pattern=r"[0-9]"),
    ),
    Case("c_literal_str", Literal["a", "b", "c", "d"], LiteralType(values=("a", "b", "c", "d"))),
    Case("c_literal_mixed", Literal[1, 2, "x", None], LiteralType(values=(1, 2, "x", None))),
    Case("c_literal_bool", Literal[True], LiteralType(values=(True,))),
    Case("c_enum_str", Color, _ref("Color"), {"Color": _COLOR}),
    Case("c_enum_int", Priority, _enum(Priority)),
    Case("c_enum_plain", Shape, _enum(Shape)),
    Case("c_optional_int", int | None, UnionType(options=(_i(), NULL))),
    Case("c_union_int_str", int | str, UnionType(options=(_i(), _s()))),
    Case("c_union_prims", bool | float | str, UnionType(options=(_BOOL, _f(), _s()))),
    Case(
        "c_list_int",
        Annotated[list[int], MinLen(1), MaxLen(5)],
        ArrayType(items=_i(), minItems=1, maxItems=5),
    ),
    Case("c_set_str", set[str], ArrayType(items=_s(), container="set")),
    Case("c_frozenset_int", frozenset[int], ArrayType(items=_i(), container="frozenset")),
    Case("c_tuple_fixed", tuple[int, str, bool], TupleType(items=(_i(), _s(), _BOOL))),
    Case("c_tuple_var", tuple[int, ...], ArrayType(items=_i(), container="tuple")),
    Case("c_dict_str_int", dict[str, int], MapType(keys=_s(), values=_i())),
    Case(
        "c_mapping_seq",
        Mapping[str, Sequence[str]],
        MapType(keys=_s(), values=ArrayType(items=_s(), container="sequence")),
    ),
    Case(
        "c_dict_keys",
        dict[Annotated[str, MinLen(2)], float],
        MapType(keys=_s(minLength=2), values=_f()),
    ),
    Case("c_dict_enum_keys", dict[Color, int], MapType(keys=_ref("Color"), values=_i()), {"Color": _COLOR}),
    Case("c_datetime", datetime, _s(format="date-time")),
    Case("c_date", date, _s(format="date")),
    Case("c_time", time, _s(format="time")),
    Case("c_uuid", UUID, _s(format="uuid")),
    Case("c_decimal", Decimal, PrimitiveType(type="number", format="decimal")),
    Case("c_any_list", list[Any], ArrayType(items=AnyType())),
    Case("c_point", Point, _ref("Point"), {"Point": _POINT}),
    Case("c_user", User, _ref("User"), {"User": _USER}),
    Case(
        "c_options",
        Options,
        _obj(
            "Options",
            _p("verbose", _BOOL, required=False),
            _p("level", LiteralType(values=(1, 2, 3)), required=False),
        ),
    ),
    Case("c_child", Child, _obj("Child", _p("id", _i()), _p("label", _s()))),
    Case(
        "c_page_int",
        Page[int],
        _obj("Page[int]", _p("items", ArrayType(items=_i())), _p("total", _i(minimum=0)), qualname="Page"),
    ),
    Case(
        "c_strict",
        Strict,
        _obj("Strict", _p("a", _i()), _p("b", _s(), required=False), extra="forbid"),
    ),
    Case("c_node", Node, _ref("Node"), {"Node": _NODE}),
    Case(
        "c_pets",
        Annotated[Cat | Dog, Field(discriminator="kind")],
        UnionType(options=(_ref("Cat"), _ref("Dog")), discriminator="kind"),
        {"Cat": _CAT, "Dog": _DOG},
    ),
    Case(
        "c_shapes",
        list[Point | Label],
        ArrayType(items=UnionType(options=(_ref("Point"), _ref("Label")))),
        {"Point": _POINT, "Label": _obj("Label", _p("text", _s()))},
    ),
    Case(
        "c_wrapper",
        Wrapper,
        _obj(
            "Wrapper",
            _p("inner", UnionType(options=(_ref("Point"), NULL))),
            _p("data", MapType(keys=_s(), values=ArrayType(items=_i()))),
        ),
        {"Point": _POINT},
    ),
    Case(
        "c_stamp",
        Stamp,
        _obj(
            "Stamp",
            _p("at", _s(format="date-time")),
            _p("tag", _ref("Color")),
            _p("day", _s(format="date"), required=False),
        ),
        {"Color": _COLOR},
    ),
    Case("c_item", Item, _ref("Item"), {"Item": _ITEM}),
    Case(
        "c_order",
        Order,
        _obj(
            "Order",
            _p("id", _s(format="uuid")),
            _p("items", ArrayType(items=_ref("Item"))),
            _p("created", _s(format="date-time")),
            _p("note", UnionType(options=(_s(), NULL)), required=False, hasDefault=True, default=None),
            kind="dataclass",
        ),
        {"Item": _ITEM},
    ),
    Case(
        "c_signup",
        Signup,
        _obj(
            "Signup",
            _p("email", _s(pattern=r"^[^@\s]+@[^@\s]+$", maxLength=64)),
            _p("age", _i(minimum=13, maximum=130)),
            _p("plan", LiteralType(values=("free", "pro")), required=False, hasDefault=True, default="free"),
            _p("color", UnionType(options=(_ref("Color"), NULL)), required=False, hasDefault=True),
            kind="model",
            extra="forbid",
        ),
        {"Color": _COLOR},
    ),
    Case(
        "c_profile",
        Profile,
        _obj(
            "Profile",
            _p("userName", _s(minLength=2), pyName="user_name"),
            _p("score", _f(exclusiveMinimum=0, maximum=1)),
            _p("shape", _enum(Shape)),
            kind="model",
        ),
    ),
    Case("c_tree", Tree, _ref("Tree"), {"Tree": _TREE}),
    Case(
        "c_event",
        Event,
        _obj(
            "Event",
            _p("at", _s(format="date-time")),
            _p("day", _s(format="date")),
            _p("price", PrimitiveType(type="number", format="decimal")),
            _p("ref", _s(format="uuid")),
            _p("when", UnionType(options=(_s(format="time"), NULL)), required=False, hasDefault=True),
            kind="model",
        ),
    ),
)


def all_gtypes() -> dict[str, GType]:
    """Every case's named types in one table (refs are unique across the corpus)."""
    out: dict[str, GType] = {}
    for case in CASES:
        for name, gtype in case.gtypes.items():
            if name in out and out[name] != gtype:
                raise ValueError(f"corpus ref {name!r} defined twice, differently")
            out[name] = gtype
    return out
