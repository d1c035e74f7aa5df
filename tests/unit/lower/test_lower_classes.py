"""lower: named types (TypedDict, dataclass, pydantic models, enums, generics, recursion, imports)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from gati_compiler.ir.canonical import dump_gtype
from gati_compiler.ir.models import Program
from gati_compiler.pipeline import BuildResult

Project = Callable[..., BuildResult]

STR: dict[str, Any] = {"kind": "primitive", "type": "string"}
INT: dict[str, Any] = {"kind": "primitive", "type": "integer"}
NUM: dict[str, Any] = {"kind": "primitive", "type": "number"}
BOOL: dict[str, Any] = {"kind": "primitive", "type": "boolean"}
NULL: dict[str, Any] = {"kind": "primitive", "type": "null"}


def handlers_for(body: str, response: str = "None", imports: str = "from app.models import *") -> str:
    return (
        "from gati_runtime_min import GlobalContext, LocalContext, Request, Response, handler\n"
        f"{imports}\n\n"
        '@handler("POST", "/x")\n'
        f"def h(req: Request[{body}], res: Response[{response}], lctx: LocalContext, gctx: GlobalContext)"
        " -> None: ...\n"
    )


def build_models(project: Project, models: str, body: str, response: str = "None") -> Program:
    result = project({"app/__init__.py": "", "app/models.py": models, "app/handlers.py": handlers_for(body, response)})
    assert result.program is not None, [(d.code, d.message) for d in result.diagnostics]
    assert result.diagnostics == [], [(d.code, d.message) for d in result.diagnostics]
    return result.program


def gt(program: Program, ref: str) -> dict[str, Any]:
    return dump_gtype(program.gtypes[ref])


def prop(name: str, type_: Any, required: bool = True, **kw: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, "required": required, "hasDefault": False, "readOnly": False, **kw}


def props(program: Program, ref: str) -> list[dict[str, Any]]:
    out = gt(program, ref)["properties"]
    assert isinstance(out, list)
    return out


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


# -- generics ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "declaration",
    [
        "T = TypeVar('T')\nclass Page(TypedDict, Generic[T]):\n    items: list[T]\n    total: int\n",
        "class Page[T](TypedDict):\n    items: list[T]\n    total: int\n",
    ],
    ids=["Generic", "pep695"],
)
def test_generic_typeddict_instances_get_distinct_refs(project: Project, declaration: str) -> None:
    models = (
        "from typing import Generic, TypedDict, TypeVar\n"
        "class User(TypedDict):\n    name: str\n"
        f"{declaration}"
        "class Both(TypedDict):\n    a: Page[int]\n    b: Page[User]\n    c: Page[int]\n"
    )
    program = build_models(project, models, "Both")
    assert [p["type"] for p in props(program, "Both")] == [
        {"kind": "ref", "ref": "Page_int"},
        {"kind": "ref", "ref": "Page_User"},
        {"kind": "ref", "ref": "Page_int"},
    ]
    assert props(program, "Page_int")[0]["type"]["items"] == INT
    assert props(program, "Page_User")[0]["type"]["items"] == {"kind": "ref", "ref": "User"}
    assert gt(program, "Page_User")["name"] == "Page"
    assert sorted(program.gtypes) == ["Both", "Page_User", "Page_int", "User"]


def test_generic_pydantic_model_and_dataclass(project: Project) -> None:
    models = """
from dataclasses import dataclass
from typing import Generic, TypeVar
from pydantic import BaseModel
T = TypeVar("T")
class Box(BaseModel, Generic[T]):
    value: T
@dataclass
class Cell[T]:
    value: T
class Q(BaseModel):
    a: Box[str]
    b: Cell[list[int]]
"""
    program = build_models(project, models, "Q")
    assert [p["type"] for p in props(program, "Q")] == [
        {"kind": "ref", "ref": "Box_str"},
        {"kind": "ref", "ref": "Cell_list_int"},
    ]
    assert props(program, "Box_str")[0]["type"] == STR


def test_generic_with_wrong_arity_is_gati205(project: Project) -> None:
    models = "from typing import TypedDict\nclass Page[T](TypedDict):\n    items: list[T]\n"
    result = project(
        {"app/__init__.py": "", "app/models.py": models, "app/handlers.py": handlers_for("Page[int, str]")}
    )
    assert [d.code for d in result.diagnostics] == ["GATI205"]


# -- forward references and recursion -------------------------------------------------------


def test_recursive_and_mutually_recursive_types_are_refs(project: Project) -> None:
    models = """
from __future__ import annotations
from typing import Optional, TypedDict, Union
class Node(TypedDict):
    value: int
    children: list[Node]
    parent: "Optional[Node]"
class A(TypedDict):
    b: Optional[B]
class B(TypedDict):
    a: list["A"]
Json = Union[dict[str, "Json"], list["Json"], str, int, float, bool, None]
class Root(TypedDict):
    node: Node
    a: A
    j: Json
"""
    program = build_models(project, models, "Root")
    node = props(program, "Node")
    assert node[1]["type"] == {
        "kind": "array",
        "items": {"kind": "ref", "ref": "Node"},
        "container": "list",
        "uniqueItems": False,
    }
    assert node[2]["type"] == {"kind": "union", "options": [{"kind": "ref", "ref": "Node"}, NULL]}
    assert props(program, "A")[0]["type"] == {"kind": "union", "options": [{"kind": "ref", "ref": "B"}, NULL]}
    assert props(program, "B")[0]["type"]["items"] == {"kind": "ref", "ref": "A"}
    # an implicit alias that refers to itself becomes a named type
    assert props(program, "Root")[2]["type"] == {"kind": "ref", "ref": "Json"}
    json_type = gt(program, "Json")
    assert json_type["kind"] == "union"
    assert json_type["options"][0] == {"kind": "map", "keys": STR, "values": {"kind": "ref", "ref": "Json"}}
    assert sorted(program.gtypes) == ["A", "B", "Json", "Node", "Root"]


def test_forward_reference_to_a_class_defined_later(project: Project) -> None:
    models = """
from typing import TypedDict
class First(TypedDict):
    later: "Later"
    many: "list[Later]"
class Later(TypedDict):
    x: int
"""
    program = build_models(project, models, "First")
    assert [p["type"] for p in props(program, "First")] == [
        {"kind": "ref", "ref": "Later"},
        {"kind": "array", "items": {"kind": "ref", "ref": "Later"}, "container": "list", "uniqueItems": False},
    ]


# -- types imported across modules ------------------------------------------------------------


SHARED = {
    "app/__init__.py": "from .models.user import User\n",
    "app/models/__init__.py": "",
    "app/models/user.py": "from typing import TypedDict\nclass User(TypedDict):\n    name: str\n",
    "app/models/role.py": "from enum import Enum\nclass Role(Enum):\n    ADMIN = 'admin'\n",
}


@pytest.mark.parametrize(
    ("imports", "annotation"),
    [
        ("from app.models.user import User", "User"),
        ("from .models.user import User", "User"),
        ("from .models import user", "user.User"),
        ("from app.models import user as u", "u.User"),
        ("import app.models.user", "app.models.user.User"),
        ("import app.models.user as um", "um.User"),
        ("from app import User", "User"),
        ("from . import User", "User"),
        ("from app.models.user import User as Person", "Person"),
        ("from app.models.user import *", "User"),
        ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from app.models.user import User", "User"),
        ("from app.models.user import User", '"User"'),
    ],
)
def test_types_imported_across_modules(project: Project, imports: str, annotation: str) -> None:
    files = {**SHARED, "app/handlers.py": handlers_for(annotation, imports=imports)}
    result = project(files)
    assert result.diagnostics == [], [(d.code, d.message) for d in result.diagnostics]
    assert result.program is not None
    h = result.program.handlers[0]
    assert h.gtypes.request is not None
    assert dump_gtype(h.gtypes.request) == {"kind": "ref", "ref": "User"}
    assert gt(result.program, "User")["origin"] == {
        "module": "app.models.user",
        "qualname": "User",
        "kind": "typeddict",
    }


def test_relative_import_between_model_modules(project: Project) -> None:
    files = {
        **SHARED,
        "app/models/team.py": (
            "from typing import TypedDict\nfrom .user import User\nfrom ..models.role import Role\n"
            "class Team(TypedDict):\n    members: list[User]\n    role: Role\n"
        ),
        "app/handlers.py": handlers_for("Team", imports="from app.models.team import Team"),
    }
    result = project(files)
    assert result.program is not None, result.diagnostics
    assert sorted(result.program.gtypes) == ["Role", "Team", "User"]


def test_name_collisions_get_module_qualified_refs_deterministically(project: Project) -> None:
    files = {
        "app/__init__.py": "",
        "app/a.py": "from typing import TypedDict\nclass User(TypedDict):\n    a: int\n",
        "app/b.py": (
            "from typing import TypedDict\nclass User(TypedDict):\n    b: str\nclass Other(TypedDict):\n    x: int\n"
        ),
        "app/handlers.py": handlers_for(
            "tuple[A, B, Other]", imports="from app.a import User as A\nfrom app.b import User as B, Other"
        ),
    }
    first = project(files)
    second = project(dict(reversed(list(files.items()))))
    assert first.program is not None and second.program is not None
    assert sorted(first.program.gtypes) == ["Other", "app.a.User", "app.b.User"]
    assert first.program == second.program
    assert first.program.handlers[0].gtypes.request is not None
    assert dump_gtype(first.program.handlers[0].gtypes.request)["items"] == [
        {"kind": "ref", "ref": "app.a.User"},
        {"kind": "ref", "ref": "app.b.User"},
        {"kind": "ref", "ref": "Other"},
    ]
    assert gt(first.program, "app.a.User")["name"] == "User"


def test_not_a_model_class_is_a_diagnostic(project: Project) -> None:
    models = "class Plain:\n    x: int\n"
    result = project({"app/__init__.py": "", "app/models.py": models, "app/handlers.py": handlers_for("Plain")})
    [diag] = result.diagnostics
    assert diag.code == "GATI110" and diag.span.path == "app/handlers.py"
    assert "Plain" in diag.message


def test_recursive_generics_close_on_their_own_instance(project: Project) -> None:
    models = """
from typing import Generic, Optional, TypedDict, TypeVar
T = TypeVar("T")
class Tree[T](TypedDict):
    value: T
    children: list[Tree[T]]
class LL(TypedDict, Generic[T]):
    head: T
    tail: Optional["LL[T]"]
class Wrap[T](TypedDict):
    inner: Tree[list[T]]
class Q(TypedDict):
    a: Tree[int]
    b: LL[str]
    c: Wrap[bool]
"""
    program = build_models(project, models, "Q")
    assert sorted(program.gtypes) == ["LL_str", "Q", "Tree_int", "Tree_list_bool", "Wrap_bool"]
    assert props(program, "Tree_int")[1]["type"]["items"] == {"kind": "ref", "ref": "Tree_int"}
    assert props(program, "LL_str")[1]["type"]["options"][0] == {"kind": "ref", "ref": "LL_str"}
    assert props(program, "Wrap_bool")[0]["type"] == {"kind": "ref", "ref": "Tree_list_bool"}
    assert props(program, "Tree_list_bool")[0]["type"]["items"] == BOOL


def test_generic_instances_of_colliding_names_stay_distinct_and_deterministic(project: Project) -> None:
    files = {
        "app/__init__.py": "",
        "app/a.py": "from typing import TypedDict\nclass User(TypedDict):\n    a: int\n",
        "app/b.py": "from typing import TypedDict\nclass User(TypedDict):\n    b: int\n",
        "app/page.py": "from typing import TypedDict\nclass Page[T](TypedDict):\n    items: list[T]\n",
        "app/handlers.py": handlers_for(
            "Page[a.User]", "Page[b.User]", imports="from app import a, b\nfrom app.page import Page"
        ),
    }
    first, second = project(files), project(files)
    assert first.program is not None and first.diagnostics == []
    assert first.program == second.program
    h = first.program.handlers[0]
    assert h.gtypes.request is not None and h.gtypes.response is not None
    request, response = str(dump_gtype(h.gtypes.request)["ref"]), str(dump_gtype(h.gtypes.response)["ref"])
    assert request != response
    assert {request, response} <= set(first.program.gtypes)
    assert props(first.program, request)[0]["type"]["items"] == {"kind": "ref", "ref": "app.a.User"}
    assert props(first.program, response)[0]["type"]["items"] == {"kind": "ref", "ref": "app.b.User"}
