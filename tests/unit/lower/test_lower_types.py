"""lower: every type construct of SPEC section 3 → its exact GType.

Each case writes one TypedDict field `v: <annotation>` in `app/models.py`, uses the class as a
handler's request body, builds, and compares the field's GType with every ref expanded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import JsonValue

from gati_compiler.ir.canonical import dump_gtype
from gati_compiler.pipeline import BuildResult

Project = Callable[..., BuildResult]
Part = Callable[..., JsonValue]

PRELUDE = """\
import datetime as dt
import typing as t
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum, IntEnum, StrEnum, auto
from typing import (
    Annotated, Any, Dict, FrozenSet, List, Literal, NewType, Optional, Set, Tuple, TypedDict, Union,
)
from uuid import UUID

from annotated_types import Ge, Gt, Le, Len, Lt, MaxLen, MinLen, MultipleOf
from pydantic import Field, StringConstraints


class Color(Enum):
    RED = "red"
    GREEN = "green"
"""

HANDLERS = """\
from gati_runtime_min import GlobalContext, LocalContext, Request, Response, handler
from app.models import T

@handler("POST", "/x")
def h(req: Request[T], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None: ...
"""


def prim(type_: str, **kw: Any) -> dict[str, Any]:
    return {"kind": "primitive", "type": type_, **kw}


def arr(items: dict[str, Any], container: str = "list", **kw: Any) -> dict[str, Any]:
    return {"kind": "array", "items": items, "container": container, **kw, "uniqueItems": False}


def union(*options: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "union", "options": list(options)}


def lit(*values: object) -> dict[str, Any]:
    return {"kind": "literal", "values": list(values)}


def mapping(keys: dict[str, Any], values: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return {"kind": "map", "keys": keys, "values": values, **kw}


STR, INT, NUM, BOOL, NULL = prim("string"), prim("integer"), prim("number"), prim("boolean"), prim("null")
COLOR = {
    "kind": "enum",
    "name": "Color",
    "members": [{"name": "RED", "value": "red"}, {"name": "GREEN", "value": "green"}],
    "origin": {"module": "app.models", "qualname": "Color", "kind": "enum"},
}


def field_type(project: Project, handler_part: Part, annotation: str, extra: str = "") -> JsonValue:
    models = f"{PRELUDE}\n{extra}\n\nclass T(TypedDict):\n    v: {annotation}\n"
    result = project({"app/__init__.py": "", "app/models.py": models, "app/handlers.py": HANDLERS})
    body = handler_part(result, "h")
    assert isinstance(body, dict) and isinstance(body["properties"], list)
    prop = body["properties"][0]
    assert isinstance(prop, dict)
    return prop["type"]


CASES: list[tuple[str, dict[str, Any]]] = [
    # scalars
    ("str", STR),
    ("int", INT),
    ("float", NUM),
    ("bool", BOOL),
    ("None", NULL),
    ("bytes", prim("string", format="bytes")),
    ("Any", {"kind": "any"}),
    ("object", {"kind": "any"}),
    ("datetime", prim("string", format="date-time")),
    ("dt.datetime", prim("string", format="date-time")),
    ("date", prim("string", format="date")),
    ("time", prim("string", format="time")),
    ("timedelta", prim("string", format="duration")),
    ("UUID", prim("string", format="uuid")),
    ("Decimal", prim("number", format="decimal")),
    # unions
    ("Optional[int]", union(INT, NULL)),
    ("t.Optional[str]", union(STR, NULL)),
    ("Union[int, str]", union(INT, STR)),
    ("int | str | None", union(INT, STR, NULL)),
    ("Union[int, Union[str, int]]", union(INT, STR)),
    ("Optional[Optional[int]]", union(INT, NULL)),
    ("Union[int]", INT),
    # sequences and sets
    ("list[int]", arr(INT)),
    ("List[int]", arr(INT)),
    ("list", arr({"kind": "any"})),
    ("Sequence[str]", arr(STR, "sequence")),
    ("t.Sequence[str]", arr(STR, "sequence")),
    ("set[str]", arr(STR, "set")),
    ("Set[str]", arr(STR, "set")),
    ("frozenset[int]", arr(INT, "frozenset")),
    ("FrozenSet[int]", arr(INT, "frozenset")),
    ("list[list[str]]", arr(arr(STR))),
    ("Optional[list[Optional[int]]]", union(arr(union(INT, NULL)), NULL)),
    # tuples
    ("tuple[int, str]", {"kind": "tuple", "items": [INT, STR]}),
    ("Tuple[int, str, bool]", {"kind": "tuple", "items": [INT, STR, BOOL]}),
    ("tuple[int, ...]", arr(INT, "tuple")),
    ("Tuple[int, ...]", arr(INT, "tuple")),
    ("tuple[()]", {"kind": "tuple", "items": []}),
    # mappings
    ("dict[str, int]", mapping(STR, INT)),
    ("Dict[str, int]", mapping(STR, INT)),
    ("dict[int, str]", mapping(INT, STR)),
    ("dict", mapping(STR, {"kind": "any"})),
    ("Mapping[str, float]", mapping(STR, NUM)),
    ("dict[UUID, int]", mapping(prim("string", format="uuid"), INT)),
    ("dict[Color, int]", mapping(COLOR, INT)),
    ('dict[Literal["a", "b"], int]', mapping(lit("a", "b"), INT)),
    # literals and enums
    ('Literal["a", "b"]', lit("a", "b")),
    ("Literal[1, True, None]", lit(1, True, None)),
    ("Literal[-1]", lit(-1)),
    ('Literal["a", Literal["b", "c"]]', lit("a", "b", "c")),
    ('Literal["a", "a"]', lit("a")),
    ("Literal[1, True]", lit(1, True)),
    ("Literal[Color.RED]", lit("red")),
    ('Literal[Color.RED, "blue"]', lit("red", "blue")),
    ("Color", COLOR),
    # Annotated with annotated-types constraints
    ("Annotated[int, Gt(0), Lt(10)]", prim("integer", exclusiveMinimum=0, exclusiveMaximum=10)),
    ("Annotated[int, Ge(0), Le(10)]", prim("integer", minimum=0, maximum=10)),
    ("Annotated[float, Ge(-1.5)]", prim("number", minimum=-1.5)),
    ("Annotated[float, MultipleOf(0.5)]", prim("number", multipleOf=0.5)),
    ("Annotated[Decimal, Ge(0)]", prim("number", format="decimal", minimum=0)),
    ("Annotated[str, MinLen(1), MaxLen(5)]", prim("string", minLength=1, maxLength=5)),
    ("Annotated[str, Len(2, 4)]", prim("string", minLength=2, maxLength=4)),
    ("Annotated[list[int], MinLen(1), MaxLen(3)]", arr(INT, minItems=1, maxItems=3)),
    ("Annotated[list[int], Len(1, 3)]", arr(INT, minItems=1, maxItems=3)),
    ("Annotated[dict[str, int], MinLen(1)]", mapping(STR, INT, minProperties=1)),
    ("Annotated[Optional[int], Ge(0)]", union(prim("integer", minimum=0), NULL)),
    ("Annotated[Annotated[int, Ge(0)], Le(9)]", prim("integer", minimum=0, maximum=9)),
    ("list[Annotated[int, Ge(0)]]", arr(prim("integer", minimum=0))),
    ('Annotated[str, "documentation only"]', STR),
    # pydantic constraints inside Annotated
    (
        'Annotated[str, StringConstraints(min_length=1, max_length=3, pattern="^a")]',
        prim("string", minLength=1, maxLength=3, pattern="^a"),
    ),
    ('Annotated[str, Field(pattern="^x$")]', prim("string", pattern="^x$")),
    ("Annotated[int, Field(ge=1, le=5)]", prim("integer", minimum=1, maximum=5)),
    (
        "Annotated[int, Field(gt=1, lt=5, multiple_of=2)]",
        prim("integer", exclusiveMinimum=1, exclusiveMaximum=5, multipleOf=2),
    ),
    ('Annotated[str, Field(description="The v.")]', STR),
    # forward references written as strings
    ('"int"', INT),
    ('"Optional[Color]"', union(COLOR, NULL)),
    ('list["Color"]', arr(COLOR)),
]


@pytest.mark.parametrize(("annotation", "expected"), CASES, ids=[c[0] for c in CASES])
def test_annotation_lowers_to_exact_gtype(
    project: Project, handler_part: Part, annotation: str, expected: dict[str, Any]
) -> None:
    assert field_type(project, handler_part, annotation) == expected


@pytest.mark.parametrize(
    ("extra", "annotation", "expected"),
    [
        ('UserId = NewType("UserId", int)', "UserId", INT),
        ('Slug = NewType("Slug", Annotated[str, MinLen(1)])', "list[Slug]", arr(prim("string", minLength=1))),
        ("Ids = list[int]", "Ids", arr(INT)),
        ("Ids = list[int]", "Optional[Ids]", union(arr(INT), NULL)),
        ("from typing import TypeAlias\nIds: TypeAlias = list[int]", "Ids", arr(INT)),
        ("type Ids = list[int]", "Ids", arr(INT)),
        ("type Pair[K] = tuple[K, K]", "Pair[str]", {"kind": "tuple", "items": [STR, STR]}),
        ("Name = Annotated[str, MaxLen(3)]", "Name", prim("string", maxLength=3)),
        ("A = int\nB = A\nC = Optional[B]", "C", union(INT, NULL)),
    ],
)
def test_newtypes_and_aliases(
    project: Project, handler_part: Part, extra: str, annotation: str, expected: dict[str, Any]
) -> None:
    assert field_type(project, handler_part, annotation, extra) == expected


def test_explicit_aliases_are_named_and_implicit_ones_are_inlined(project: Project) -> None:
    extra = (
        "from typing import TypeAlias\n"
        "Implicit = list[int]\n"
        "Explicit: TypeAlias = list[str]\n"
        "type Pep = dict[str, int]\n"
        "type Pair[K] = tuple[K, K]\n"
    )
    models = (
        f"{PRELUDE}\n{extra}\nclass T(TypedDict):\n    a: Implicit\n    b: Explicit\n    c: Pep\n    d: Pair[int]\n"
    )
    result = project({"app/__init__.py": "", "app/models.py": models, "app/handlers.py": HANDLERS})
    assert result.program is not None
    props = dump_gtype(result.program.gtypes["T"])["properties"]
    assert isinstance(props, list)
    assert [p["type"] for p in props if isinstance(p, dict)] == [
        arr(INT),
        {"kind": "ref", "ref": "Explicit"},
        {"kind": "ref", "ref": "Pep"},
        {"kind": "ref", "ref": "Pair_int"},
    ]
    assert sorted(result.program.gtypes) == ["Explicit", "Pair_int", "Pep", "T"]


# -- unsupported constructs are diagnostics, never tracebacks --------------------------------


@pytest.mark.parametrize(
    ("annotation", "code"),
    [
        ("t.Callable[[int], str]", "GATI110"),
        ("dict[list[int], int]", "GATI110"),
        ("Literal[1.5]", "GATI110"),
        ("Literal[str]", "GATI110"),
        ("Annotated[str, Ge(1)]", "GATI110"),
        ("Annotated[int, MinLen(1)]", "GATI110"),
        ("Annotated[int, Ge(x)]", "GATI110"),
        ("tuple[int, ..., str]", "GATI110"),
        ('"not valid ("', "GATI110"),
        ("Missing", "GATI201"),
        ("t.Nope", "GATI110"),
        ("numpy.ndarray", "GATI201"),
        ("Optional[int, str]", "GATI205"),
        ("list[int, str]", "GATI205"),
        ("dict[str]", "GATI205"),
        ("int[str]", "GATI205"),
        ("Literal[()]", "GATI110"),
        ("Color.RED", "GATI206"),
        ("Helper", "GATI206"),
        ("Plain", "GATI110"),
        ("TV", "GATI110"),
        ("dt", "GATI110"),
        ("pathlib.Path", "GATI201"),
    ],
)
def test_unsupported_annotations_are_diagnostics(project: Project, annotation: str, code: str) -> None:
    extra = 'def Helper() -> None: ...\nclass Plain: ...\nTV = t.TypeVar("TV")\n'
    models = f"{PRELUDE}\n{extra}\nclass T(TypedDict):\n    v: {annotation}\n"
    result = project({"app/__init__.py": "", "app/models.py": models, "app/handlers.py": HANDLERS})
    assert code in [d.code for d in result.diagnostics], [(d.code, d.message) for d in result.diagnostics]
    assert not result.internal_error
    diag = next(d for d in result.diagnostics if d.code == code)
    assert diag.span.path == "app/models.py"
    assert diag.span.line == models.count("\n")  # the field line, the last of the file


def test_third_party_type_names_the_way_out(project: Project) -> None:
    models = f"{PRELUDE}\nimport numpy as np\n\nclass T(TypedDict):\n    v: np.ndarray\n"
    result = project({"app/__init__.py": "", "app/models.py": models, "app/handlers.py": HANDLERS})
    [diag] = result.diagnostics
    assert diag.code == "GATI202"
    assert "numpy" in diag.message
    assert diag.help is not None and "TypedDict" in diag.help and "Any" in diag.help
    assert (diag.span.line, diag.span.col) == (models.count("\n"), 8)


def test_alias_cycle_naming_no_type_is_gati203(project: Project) -> None:
    models = f"{PRELUDE}\nA = 'B'\nB = 'A'\n\nclass T(TypedDict):\n    v: A\n"
    result = project({"app/__init__.py": "", "app/models.py": models, "app/handlers.py": HANDLERS})
    assert "GATI203" in [d.code for d in result.diagnostics]


@pytest.mark.parametrize(
    ("definition", "code"),
    [
        # a functional TypedDict whose fields are not a literal dict is a plain value
        ('X = TypedDict("X", dict(a=int))', "GATI206"),
        ("class X(t.NamedTuple):\n    a: int", "GATI110"),
        ("from pydantic import RootModel\nclass X(RootModel[list[int]]):\n    pass", "GATI110"),
        ("X = t.Deque[int]", "GATI110"),
        ("X = type[int]", "GATI110"),
        ('X = Literal[b"x"]', "GATI110"),
        ("from pydantic import AfterValidator\nX = Annotated[str, AfterValidator(str.strip)]", "GATI110"),
        ("X = 3", "GATI206"),
    ],
)
def test_unsupported_definitions_are_diagnostics(project: Project, definition: str, code: str) -> None:
    models = f"{PRELUDE}\n{definition}\n\nclass T(TypedDict):\n    v: X\n"
    result = project({"app/__init__.py": "", "app/models.py": models, "app/handlers.py": HANDLERS})
    assert [d.code for d in result.diagnostics] == [code], [(d.code, d.message) for d in result.diagnostics]
    assert result.program is None
