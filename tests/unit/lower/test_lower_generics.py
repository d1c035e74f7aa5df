"""lower: generic named types, forward references and recursion, types imported across modules."""

from __future__ import annotations

import pytest

from gati_compiler.ir.canonical import dump_gtype
from tests.unit.lower.named_types import BOOL, INT, NULL, STR, Project, build_models, gt, handlers_for, props

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
