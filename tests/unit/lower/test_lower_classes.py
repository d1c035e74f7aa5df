"""lower: named types (TypedDict, dataclass, pydantic models, enums); generics in `test_lower_generics.py`."""

from __future__ import annotations

import pytest

from tests.unit.lower.named_types import BOOL, INT, NULL, NUM, STR, Project, build_models, gt, handlers_for, prop, props

# -- TypedDict ------------------------------------------------------------------------------


def test_typeddict_required_notrequired_total_inheritance_readonly(project: Project) -> None:
    models = '''
from typing import NotRequired, Required, TypedDict
from typing_extensions import ReadOnly

class A(TypedDict):
    """Doc of A.

    Second paragraph."""
    x: int
    "The x."
    y: NotRequired[str]

class B(A, total=False):
    z: Required[bool]
    w: float
    r: ReadOnly[int]
    rr: Required[ReadOnly[int]]
'''
    program = build_models(project, models, "B")
    assert gt(program, "A") == {
        "kind": "object",
        "name": "A",
        "description": "Doc of A.\n\nSecond paragraph.",
        "properties": [prop("x", INT, description="The x."), prop("y", STR, False)],
        "extra": "ignore",
        "origin": {"module": "app.models", "qualname": "A", "kind": "typeddict"},
    }
    assert props(program, "B") == [
        prop("x", INT, description="The x."),
        prop("y", STR, False),
        prop("z", BOOL, True),
        prop("w", NUM, False),
        {**prop("r", INT, False), "readOnly": True},
        {**prop("rr", INT, True), "readOnly": True},
    ]
    assert gt(program, "B")["origin"] == {"module": "app.models", "qualname": "B", "kind": "typeddict"}
    assert "description" not in gt(program, "B")


def test_typeddict_functional_total_false_keeps_parent_requirements(project: Project) -> None:
    models = """
from typing import TypedDict
class Base(TypedDict, total=False):
    a: int
class Child(Base):
    b: int
"""
    program = build_models(project, models, "Child")
    assert props(program, "Child") == [prop("a", INT, False), prop("b", INT, True)]


def test_typeddict_conflicting_inherited_field_is_gati305(project: Project) -> None:
    models = """
from typing import TypedDict
class A(TypedDict):
    x: int
class B(A):
    x: str
"""
    result = project({"app/__init__.py": "", "app/models.py": models, "app/handlers.py": handlers_for("B")})
    [diag] = result.diagnostics
    assert diag.code == "GATI305" and diag.span.line == 6


def test_typeddict_closed_and_diamond_inheritance(project: Project) -> None:
    models = """
from typing import TypedDict
class A(TypedDict):
    a: int
class B(A):
    b: int
class C(A):
    c: int
class D(B, C, closed=True):
    d: int
"""
    program = build_models(project, models, "D")
    assert [p["name"] for p in props(program, "D")] == ["a", "b", "c", "d"]
    assert gt(program, "D")["extra"] == "forbid"


# -- dataclasses -----------------------------------------------------------------------------


def test_dataclass_defaults_factories_classvars_and_private_fields(project: Project) -> None:
    models = '''
import dataclasses
from dataclasses import dataclass, field, KW_ONLY
from typing import ClassVar, Optional

@dataclass(frozen=True)
class D:
    """A dataclass."""
    a: int
    b: str = "x"
    c: list[int] = field(default_factory=list)
    d: dict[str, int] = dataclasses.field(default_factory=dict)
    e: Optional[int] = None
    f: float = field(default=1.5)
    g: tuple[int, ...] = (1, 2)
    k: ClassVar[int] = 3
    _: KW_ONLY
    _p: int = 0
    n: bool = False
'''
    program = build_models(project, models, "D")
    d = gt(program, "D")
    assert d["description"] == "A dataclass."
    assert d["origin"] == {"module": "app.models", "qualname": "D", "kind": "dataclass"}
    assert props(program, "D") == [
        prop("a", INT),
        {**prop("b", STR, False), "hasDefault": True, "default": "x"},
        {
            **prop("c", {"kind": "array", "items": INT, "container": "list", "uniqueItems": False}, False),
            "hasDefault": True,
            "default": [],
        },
        {**prop("d", {"kind": "map", "keys": STR, "values": INT}, False), "hasDefault": True, "default": {}},
        {**prop("e", {"kind": "union", "options": [INT, NULL]}, False), "hasDefault": True},
        {**prop("f", NUM, False), "hasDefault": True, "default": 1.5},
        {
            **prop("g", {"kind": "array", "items": INT, "container": "tuple", "uniqueItems": False}, False),
            "hasDefault": True,
            "default": [1, 2],
        },
        {**prop("n", BOOL, False), "hasDefault": True, "default": False},
    ]


def test_dataclass_inherits_fields(project: Project) -> None:
    models = """
from dataclasses import dataclass
@dataclass
class Base:
    a: int
@dataclass
class Child(Base):
    b: str = "b"
"""
    program = build_models(project, models, "Child")
    assert [p["name"] for p in props(program, "Child")] == ["a", "b"]


# -- pydantic --------------------------------------------------------------------------------


def test_pydantic_model_fields_constraints_alias_description_default_and_config(project: Project) -> None:
    models = '''
from typing import Annotated
import pydantic
from pydantic import BaseModel, ConfigDict, Field

class M(BaseModel):
    """A model."""
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=10, description="The name.")
    age: int = Field(default=0, ge=0, le=150)
    nick: str = Field("n", alias="nickName")
    tags: list[str] = Field(default_factory=list)
    code: str = Field(pattern=r"^[A-Z]+$")
    req: Annotated[int, Field(gt=0, description="Positive.")]
    ratio: float = pydantic.Field(0.5, multiple_of=0.25, lt=1)
    plain: bool = True
    _private: int = 0
'''
    program = build_models(project, models, "M")
    m = gt(program, "M")
    assert (m["description"], m["extra"], m["origin"]) == (
        "A model.",
        "forbid",
        {"module": "app.models", "qualname": "M", "kind": "model"},
    )
    assert props(program, "M") == [
        prop("name", {**STR, "minLength": 1, "maxLength": 10}, description="The name."),
        {**prop("age", {**INT, "minimum": 0, "maximum": 150}, False), "hasDefault": True, "default": 0},
        {**prop("nickName", STR, False), "hasDefault": True, "default": "n", "pyName": "nick"},
        {
            **prop("tags", {"kind": "array", "items": STR, "container": "list", "uniqueItems": False}, False),
            "hasDefault": True,
            "default": [],
        },
        prop("code", {**STR, "pattern": "^[A-Z]+$"}),
        prop("req", {**INT, "exclusiveMinimum": 0}, description="Positive."),
        {
            **prop("ratio", {**NUM, "multipleOf": 0.25, "exclusiveMaximum": 1}, False),
            "hasDefault": True,
            "default": 0.5,
        },
        {**prop("plain", BOOL, False), "hasDefault": True, "default": True},
    ]


@pytest.mark.parametrize(
    ("config", "extra"),
    [
        ('model_config = ConfigDict(extra="forbid")', "forbid"),
        ('model_config = ConfigDict(extra="allow")', "allow"),
        ("model_config = ConfigDict(frozen=True)", "ignore"),
        ("", "ignore"),
    ],
)
def test_pydantic_extra_policy(project: Project, config: str, extra: str) -> None:
    models = f"from pydantic import BaseModel, ConfigDict\nclass M(BaseModel):\n    {config}\n    a: int\n"
    assert gt(build_models(project, models, "M"), "M")["extra"] == extra


def test_pydantic_class_keyword_extra_and_inherited_config(project: Project) -> None:
    models = """
from pydantic import BaseModel, ConfigDict
class Strict(BaseModel, extra="forbid"):
    a: int
class Child(Strict):
    b: int
"""
    program = build_models(project, models, "Child")
    assert gt(program, "Strict")["extra"] == "forbid"
    assert gt(program, "Child")["extra"] == "forbid"
    assert [p["name"] for p in props(program, "Child")] == ["a", "b"]


# -- enums -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "members"),
    [
        ("class E(Enum):\n    A = 'a'\n    B = 'b'", [("A", "a"), ("B", "b")]),
        ("class E(Enum):\n    A = 1\n    B = auto()", [("A", 1), ("B", 2)]),
        ("class E(Enum):\n    A = 10\n    B = auto()\n    C = auto()", [("A", 10), ("B", 11), ("C", 12)]),
        ("class E(IntEnum):\n    LOW = auto()\n    HIGH = auto()", [("LOW", 1), ("HIGH", 2)]),
        ("class E(StrEnum):\n    FAST = auto()\n    SLOW = 'slow-ish'", [("FAST", "fast"), ("SLOW", "slow-ish")]),
        ("class E(str, Enum):\n    A = 'x'\n    B = 'y'", [("A", "x"), ("B", "y")]),
        ("class E(str, Enum):\n    A = auto()\n    B = auto()", [("A", "1"), ("B", "2")]),
        ("class E(Enum):\n    A = enum.auto()\n    _ignore_ = 'x'\n    B = True", [("A", 1), ("B", True)]),
        ("class E(IntEnum):\n    A = -1\n    B = 2", [("A", -1), ("B", 2)]),
        ("class E(Flag):\n    A = auto()\n    B = auto()\n    C = auto()", [("A", 1), ("B", 2), ("C", 4)]),
        (
            "class E(IntFlag):\n    A = 1\n    B = 2\n    AB = 3\n    C = auto()",
            [("A", 1), ("B", 2), ("AB", 3), ("C", 4)],
        ),
    ],
)
def test_enum_members(project: Project, source: str, members: list[tuple[str, object]]) -> None:
    models = f"import enum\nfrom enum import Enum, Flag, IntEnum, IntFlag, StrEnum, auto\n{source}\n"
    e = gt(build_models(project, models, "list[E]"), "E")
    assert e["kind"] == "enum" and e["name"] == "E"
    assert [(m["name"], m["value"]) for m in e["members"]] == members
    assert e["origin"] == {"module": "app.models", "qualname": "E", "kind": "enum"}


def test_enum_member_defaults_use_the_member_value(project: Project) -> None:
    models = """
from dataclasses import dataclass
from enum import IntEnum, StrEnum, auto
class Mode(StrEnum):
    FAST = auto()
    SLOW = auto()
class Level(IntEnum):
    LOW = 5
    HIGH = auto()
@dataclass
class D:
    mode: Mode = Mode.SLOW
    level: Level = Level.HIGH
"""
    program = build_models(project, models, "D")
    assert [(p["name"], p["default"]) for p in props(program, "D")] == [("mode", "slow"), ("level", 6)]


def test_enum_member_without_a_literal_value_is_a_diagnostic(project: Project) -> None:
    models = "from enum import Enum\nclass E(Enum):\n    A = compute()\n"
    result = project({"app/__init__.py": "", "app/models.py": models, "app/handlers.py": handlers_for("E")})
    [diag] = result.diagnostics
    assert (diag.code, diag.span.line) == ("GATI110", 3)
