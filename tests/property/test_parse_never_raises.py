# ruff: noqa: E501  (the seed modules keep handler signatures on one line, as users write them)
"""Parse and the whole front end on arbitrary text: facts or diagnostics, never an exception.

LibCST-fuzz style (STYLE 2.8): `parse_source` and `build` of a throwaway project holding the
text as a handler module must return, never raise, and never report GATI900 (a gati bug).
Inputs are plain random text, and valid handler modules mutated in two ways: text edits
(deleting, duplicating and swapping lines, inserting brackets and quotes) and annotations,
decorator arguments and paths drawn from a small grammar of names, subscripts, unions,
literals and (nested) strings. Profiles live in `conftest.py` (`GATI_HYPOTHESIS_PROFILE`).
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st

from gati_compiler.diagnostics import codes
from gati_compiler.diagnostics.codes import REGISTRY
from gati_compiler.diagnostics.render import render_json, render_text
from gati_compiler.pipeline import BuildResult, build
from gati_compiler.stages.facts import ModuleFacts
from gati_compiler.stages.parse import SourceFile, parse_source

MODELS = '''\
"""Models the generated handler modules can refer to."""

from enum import Enum
from typing import Generic, TypedDict, TypeVar

T = TypeVar("T")


class Color(Enum):
    RED = "red"
    BLUE = "blue"


class User(TypedDict):
    id: int
    name: str
    friends: list["User"]


class Page(TypedDict, Generic[T]):
    items: list[T]
    total: int


A = B
B = A
'''

SEED_HANDLERS = '''\
"""A valid handler module, the seed of the mutations."""

from typing import Annotated, Literal, NotRequired, Optional, TypedDict

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, before, get, handler, post

import models
from models import Color, Page, User


class Query(TypedDict):
    q: NotRequired[str]
    limit: int


class Params(TypedDict):
    id: int


@before(timeout=1.0)
async def check(req: Request[None], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None:
    pass


@get("/users", rate_limit="10/minute", before=[check])
async def list_users(req: Request[None, Query], res: Response[Page[User]], lctx: LocalContext, gctx: GlobalContext) -> None:
    """List users."""
    res.json({"items": await gctx.modules["db"].users(), "total": 0})


@handler("POST", "/users/{id:int}", id="users.create", roles=["admin"], timeout=2.5, status=201)
async def create_user(
    req: Request[Optional[User], None, Params], res: Response[Annotated[int, "x"]], lctx: LocalContext, gctx: GlobalContext
) -> None:
    res.json(req.params["id"])


@post("/colors/{name}")
def set_color(req: Request[Literal["a", 1] | Color], res: Response[models.User], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.empty()
'''

TEMPLATE = """\
from typing import Annotated, Any, Literal, NotRequired, Optional, Required, TypedDict, Union

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get, handler, post

import models
from models import A, Color, Page, User


class Body(TypedDict):
    first: {field1}
    second: {field2}


class Child(Body):
    first: {field3}


@post("/fixed/{{id:int}}")
async def fixed(req: Request[Body], res: Response[list[Child]], lctx: LocalContext, gctx: GlobalContext) -> None:
    pass


@{decorator}
async def generated(req: Request[{body}, {query}, {params}], res: Response[{out}], lctx: LocalContext, gctx: GlobalContext) -> {ret}:
    value = req.params[{key}]
    await gctx.modules[{key}].call(value)
"""

# -- a grammar of annotation_texts -------------------------------------------------------------------

_NAMES = [
    "int", "str", "float", "bool", "bytes", "None", "Any", "object", "list", "dict", "set", "tuple",
    "frozenset", "Optional", "Union", "Literal", "Annotated", "Required", "NotRequired", "TypedDict",
    "User", "Page", "Color", "Color.RED", "Body", "Child", "A", "B", "models", "models.User",
    "models.Nope", "Nope", "T", "Request", "Response", "GlobalContext", "generated", "typing.List",
    "sqlalchemy.Engine", "datetime.datetime", "Callable", "...", "_", "__class__", "print",
]  # fmt: skip
_LITERALS = ['"x"', "'y'", "1", "-2", "0.5", "True", "None", 'b"z"', '""', "1j", '"\\u00e9"', "[]", "()"]

leaves = st.one_of(st.sampled_from(_NAMES), st.sampled_from(_LITERALS))


def _extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    args = st.lists(children, min_size=0, max_size=3)
    return st.one_of(
        st.builds(lambda b, a: f"{b}[{', '.join(a) or '()'}]", st.sampled_from(_NAMES), args),
        st.builds(lambda a, b: f"{a} | {b}", children, children),
        st.builds(lambda a: f"[{', '.join(a)}]", args),
        st.builds(repr, children),  # a forward reference, possibly nested and escaped
        st.builds(lambda a: f"Field(gt={a})", children),
        st.builds(lambda a: f"({a})", children),
        st.builds(lambda a, n: f"{a}.{n}", children, st.sampled_from(["x", "RED", "__dict__"])),
    )


annotation_texts = st.recursive(leaves, _extend, max_leaves=8)

_SEGMENTS = st.one_of(
    st.sampled_from(["users", "{id}", "{id:int}", "{id:nope}", "{rest:path}", "{}", "{:int}", "a b", ""]),
    st.text(alphabet="{}:/ab_-1", max_size=6),
)
paths = st.builds(lambda segs: "/" + "/".join(segs), st.lists(_SEGMENTS, max_size=4)) | st.text(max_size=8)
_KEYWORDS = ["id", "roles", "rate_limit", "timeout", "status", "before", "modules", "tags", "method", "nope"]
keyword_values = st.one_of(annotation_texts, st.builds(repr, st.text(max_size=10)), st.integers(-5, 500).map(str))
_methods = st.sampled_from(["GET", "post", "FETCH", ""]).map(repr) | annotation_texts
_kwargs = st.lists(st.tuples(st.sampled_from(_KEYWORDS), keyword_values), max_size=3).map(
    lambda kws: "".join(f", {k}={v}" for k, v in kws)
)
decorators = st.one_of(
    st.builds(lambda name, path, kws: f"{name}({path!r}{kws})", st.sampled_from(["get", "models.get"]), paths, _kwargs),
    st.builds(lambda method, path, kws: f"handler({method}, {path!r}{kws})", _methods, paths, _kwargs),
    st.sampled_from(["get", "handler", "get()", "handler('GET')", "get('/x')('/y')"]),
)

generated_modules = st.builds(
    TEMPLATE.format,
    field1=annotation_texts,
    field2=annotation_texts,
    field3=annotation_texts,
    decorator=st.one_of(st.just("get('/items/{id:int}')"), decorators),
    body=annotation_texts,
    query=st.one_of(st.just("None"), annotation_texts),
    params=st.one_of(st.just("None"), annotation_texts),
    out=annotation_texts,
    ret=st.one_of(st.just("None"), annotation_texts),
    key=st.one_of(st.builds(repr, st.text(max_size=5)), annotation_texts),
)

# -- text mutations ---------------------------------------------------------------------------


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[str]) -> str:
    lines = draw(base).split("\n")
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            lines = [""]
        i = draw(st.integers(0, len(lines) - 1))
        kind = draw(st.sampled_from(["delete", "duplicate", "swap", "insert", "indent", "truncate"]))
        if kind == "delete":
            del lines[i]
        elif kind == "duplicate":
            lines.insert(i, lines[i])
        elif kind == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == "insert":
            col = draw(st.integers(0, len(lines[i])))
            piece = draw(st.sampled_from(["(", ")", "[", "]", "{", "}", '"', "'", '"""', ":", "\\", "#", "\t", "|"]))
            lines[i] = lines[i][:col] + piece + lines[i][col:]
        elif kind == "indent":
            lines[i] = draw(st.sampled_from(["    ", "\t", " "])) + lines[i]
        else:
            col = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:col]
    return "\n".join(lines)


handler_texts = st.one_of(
    generated_modules,
    mutated(st.just(SEED_HANDLERS)),
    mutated(generated_modules),
)

# -- the properties ---------------------------------------------------------------------------


def _source(text: str, rel_path: str = "handlers.py") -> SourceFile:
    return SourceFile(rel_path, rel_path.removesuffix(".py"), False, text, hashlib.sha256(text.encode()).hexdigest())


def _check_parse(text: str) -> None:
    facts = parse_source(_source(text))
    assert isinstance(facts, ModuleFacts)
    assert {d.code for d in facts.diagnostics} <= {codes.SYNTAX_ERROR.id}
    assert facts.broken == bool(facts.diagnostics)
    for d in facts.diagnostics:
        assert 1 <= d.span.line <= text.count("\n") + 1 + text.count("\r")
        assert d.span.col >= 1


def _build_text(text: str) -> BuildResult:
    with tempfile.TemporaryDirectory(prefix="gati-fuzz-") as tmp:
        root = Path(tmp)
        (root / "pyproject.toml").write_text('[tool.gati]\nname = "fuzz"\n', encoding="utf-8")
        (root / "models.py").write_text(MODELS, encoding="utf-8")
        # the marker makes the file an entry point whatever the generated text holds
        (root / "handlers.py").write_text("# gati_runtime_min\n" + text, encoding="utf-8", newline="")
        result = build(root, write=False, jobs=1)
        assert not result.internal_error, "\n".join(
            f"{d.code} {d.message}\n" + "\n".join(d.notes) for d in result.diagnostics if d.code == "GATI900"
        )
        for d in result.diagnostics:
            assert d.code in REGISTRY
            assert d.span.line >= 1 and d.span.col >= 1
        render_text(result.diagnostics, result.sources, color=False)
        render_json(result.diagnostics)
        return result


def test_seed_module_builds_cleanly() -> None:
    result = _build_text(SEED_HANDLERS)
    assert [d.code for d in result.diagnostics if d.severity.value == "error"] == []


@given(st.text())
@example("")
@example("\x00")
@example("def f(:\n")
@example("(" * 5000)
@example("x = [" * 300 + "]" * 300)
@example("\r\rclass A:\r  x: int\r")
@example("\ufeffimport os\n")
@example("\U00031350")  # libcst accepted it as a name, then its node check raised
@example("def f():\n\treturn 1\n        pass\n")
def test_parse_never_raises_on_random_text(text: str) -> None:
    _check_parse(text)


@given(handler_texts)
def test_parse_never_raises_on_mutated_handlers(text: str) -> None:
    _check_parse(text)


@given(st.text())
@example("(" * 5000)
@example("from gati_runtime_min import get\n@get('/x')\nasync def f(req, res, lctx, gctx): ...\n")
def test_build_never_raises_on_random_text(text: str) -> None:
    _build_text(text)


@given(handler_texts)
@example(TEMPLATE.format(**dict.fromkeys(["field1", "field2", "field3", "body", "query", "params", "out"], "A"),
                         decorator="get('/x')", ret="None", key="'id'"))  # fmt: skip
@example(SEED_HANDLERS.replace('"10/minute"', '"10/0 minute"'))
def test_build_never_raises_on_mutated_handlers(text: str) -> None:
    _build_text(text)
