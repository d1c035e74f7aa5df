"""parse: source strings → `ModuleFacts` (imports, classes, functions, aliases, uses, lines, anchors)."""

from __future__ import annotations

import textwrap

import pytest

from gati_compiler.stages.facts import (
    AliasFact,
    ClassFact,
    ExCall,
    ExConst,
    ExList,
    ExName,
    ExOr,
    ExSub,
    FunctionFact,
    ImportFact,
    ModuleFacts,
)
from gati_compiler.stages.parse import SourceFile, parse_source
from gati_compiler.stages.positions import locate


def facts_of(source: str, module: str = "app.mod", *, is_package: bool = False) -> ModuleFacts:
    text = textwrap.dedent(source)
    rel = module.replace(".", "/") + ("/__init__.py" if is_package else ".py")
    return parse_source(SourceFile(rel, module, is_package, text, "0"))


def imports(source: str) -> list[tuple[str, str | None, str | None, int, str]]:
    return [(i.module, i.name, i.asname, i.level, i.local) for i in facts_of(source).imports]


def cls(facts: ModuleFacts, name: str) -> ClassFact:
    return next(c for c in facts.classes if c.name == name)


def fn(facts: ModuleFacts, name: str) -> FunctionFact:
    return next(f for f in facts.functions if f.name == name)


# -- imports ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import os", [("os", None, None, 0, "os")]),
        ("import a.b.c", [("a.b.c", None, None, 0, "a")]),
        ("import a.b.c as y", [("a.b.c", None, "y", 0, "y")]),
        ("import x as y, z", [("x", None, "y", 0, "y"), ("z", None, None, 0, "z")]),
        ("from typing import List", [("typing", "List", None, 0, "List")]),
        ("from typing import List as L, Dict", [("typing", "List", "L", 0, "L"), ("typing", "Dict", None, 0, "Dict")]),
        ("from . import models", [("", "models", None, 1, "models")]),
        ("from .models import User", [("models", "User", None, 1, "User")]),
        ("from ..models import User as U", [("models", "User", "U", 2, "U")]),
        ("from ...a.b import c", [("a.b", "c", None, 3, "c")]),
        ("from .models import *", [("models", "*", None, 1, "*")]),
        (
            "from typing import (\n    Any,\n    Optional,\n)",
            [("typing", "Any", None, 0, "Any"), ("typing", "Optional", None, 0, "Optional")],
        ),
    ],
)
def test_imports(source: str, expected: list[tuple[str, str | None, str | None, int, str]]) -> None:
    assert imports(source) == expected


def test_type_checking_and_try_imports_are_read() -> None:
    facts = facts_of(
        """
        from typing import TYPE_CHECKING
        if TYPE_CHECKING:
            from app.models import User
        else:
            User = None
        try:
            import ujson as json
        except ImportError:
            import json
        """
    )
    locals_ = [i.local for i in facts.imports]
    assert locals_ == ["TYPE_CHECKING", "User", "json"]
    assert isinstance(facts.imports[1], ImportFact) and facts.imports[1].module == "app.models"


def test_imports_inside_functions_are_not_module_names() -> None:
    facts = facts_of(
        """
        def f():
            import secret
        class C:
            import other
        """
    )
    assert facts.imports == ()


# -- classes --------------------------------------------------------------------------------


def test_class_fields_defaults_attribute_docstrings_and_methods() -> None:
    facts = facts_of(
        '''
        @dataclass(frozen=True)
        class User(Base, metaclass=Meta, total=False):
            """A user.

            More text.
            """

            name: str
            """The display name."""
            age: int = 3
            tags: list[str] = field(default_factory=list)
            "Tags, single-quoted docstring."
            RED = "red"

            def method(self, x: int) -> str: ...
        '''
    )
    c = cls(facts, "User")
    assert c.docstring == "A user.\n\nMore text."
    assert [(f.name, f.description) for f in c.fields] == [
        ("name", "The display name."),
        ("age", None),
        ("tags", "Tags, single-quoted docstring."),
        ("RED", None),
    ]
    name, age, tags, red = c.fields
    assert isinstance(name.annotation, ExName) and name.annotation.name == "str" and name.default is None
    assert isinstance(age.default, ExConst) and age.default.value == 3
    assert isinstance(tags.default, ExCall) and dict(tags.default.kwargs)["default_factory"] == ExName(
        "list", tags.default.kwargs[0][1].anchor
    )
    assert red.annotation is None and isinstance(red.default, ExConst) and red.default.value == "red"
    assert [b.name for b in c.bases if isinstance(b, ExName)] == ["Base"]
    assert [k for k, _ in c.keywords] == ["metaclass", "total"]
    [dec] = c.decorators
    assert isinstance(dec, ExCall) and isinstance(dec.func, ExName) and dec.func.name == "dataclass"
    assert [m.name for m in c.methods] == ["method"]
    assert c.line == 3  # the `class` line, after the blank first line and the decorator


def test_pep695_class_and_type_alias() -> None:
    facts = facts_of(
        """
        class Page[T, *Ts, **P](TypedDict):
            items: list[T]
        type Pair[K, V] = tuple[K, V]
        type Id = int
        """
    )
    assert cls(facts, "Page").type_params == ("T", "Ts", "P")
    pair, ident = facts.aliases
    assert (pair.name, pair.explicit, pair.type_params) == ("Pair", True, ("K", "V"))
    assert isinstance(pair.value, ExSub)
    assert (ident.name, ident.explicit, ident.type_params) == ("Id", True, ())


def test_aliases_implicit_and_explicit_and_other_names() -> None:
    facts = facts_of(
        """
        from typing import TypeAlias
        import typing as t
        A = list[int]
        B: TypeAlias = "dict[str, A]"
        C: t.TypeAlias = int | None
        D: int = 3
        x, y = 1, 2
        __all__ = ["A", "B"]
        """
    )
    assert [(a.name, a.explicit) for a in facts.aliases] == [("A", False), ("B", True), ("C", True)]
    b, c = facts.aliases[1], facts.aliases[2]
    assert isinstance(b.value, ExConst) and b.value.value == "dict[str, A]"
    assert isinstance(c.value, ExOr) and len(c.value.items) == 2
    assert facts.other_names == ("D", "x", "y")
    assert facts.exports == ("A", "B")


@pytest.mark.parametrize(
    ("annotation", "expected"),
    [
        ("int", ExName),
        ("t.Optional[int]", ExSub),
        ("int | str | None", ExOr),
        ('"Forward"', ExConst),
        ("Literal[-1, 2.5, True, None]", ExSub),
        ("Callable[[int], str]", ExSub),
        ("tuple[()]", ExSub),
    ],
)
def test_expression_kinds(annotation: str, expected: type) -> None:
    [alias] = facts_of(f"X = {annotation}\n").aliases
    assert isinstance(alias.value, expected)


def test_literal_negative_numbers_and_lists() -> None:
    [alias] = facts_of("X = Literal[-1, 2.5, True, None]\n").aliases
    assert isinstance(alias.value, ExSub)
    assert [a.value for a in alias.value.args if isinstance(a, ExConst)] == [-1, 2.5, True, None]
    [call] = facts_of("X = Callable[[int], str]\n").aliases
    assert isinstance(call.value, ExSub) and isinstance(call.value.args[0], ExList)


def test_three_way_union_is_flat() -> None:
    [alias] = facts_of("X = int | str | None\n").aliases
    assert isinstance(alias.value, ExOr)
    assert [type(i).__name__ for i in alias.value.items] == ["ExName", "ExName", "ExConst"]


# -- functions: decorators, lines, uses ------------------------------------------------------


HANDLERS = '''\
"""Module docstring."""
from gati_runtime_min import GlobalContext, LocalContext, Request, Response, handler

TEMPLATE = """
def fake(req, res, lctx, gctx):
    pass
class Fake:
    pass
"""


@handler(
    "GET",
    "/users/{id}",
)
async def get_user(req: Request[None], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None:
    """Get one user."""
    db = gctx.modules["db"]
    cache = gctx.modules.cache
    user_id = req.params["id"]
    other = req.params["other"]


# a comment
@handler("POST", "/users")
@other_decorator
def create_user(r: Request[None], s: Response[None], l: LocalContext, g: GlobalContext) -> None:
    g.modules["mail"].send()
    gctx.modules["not_the_param"]


class After:
    pass
'''


def test_handler_lines_are_exact_with_multiline_decorators_and_a_def_inside_a_string() -> None:
    facts = facts_of(HANDLERS)
    lines = {f.name: f.line for f in facts.functions}
    text = HANDLERS.splitlines()
    assert text[lines["get_user"] - 1].startswith("async def get_user")
    assert text[lines["create_user"] - 1].startswith("def create_user")
    assert text[cls(facts, "After").line - 1] == "class After:"
    assert (lines["get_user"], lines["create_user"], cls(facts, "After").line) == (16, 27, 32)
    assert facts.docstring == "Module docstring."


def test_handler_lines_with_the_regex_fast_path() -> None:
    source = "import x\n\n@d(\n  1,\n)\ndef a(): ...\n\nclass B:\n    def c(self): ...\n\nasync def d(): ...\n"
    facts = facts_of(source)
    assert [(f.name, f.line) for f in facts.functions] == [("a", 6), ("d", 11)]
    assert cls(facts, "B").line == 8


def test_lines_after_a_def_in_a_string_at_column_zero_before_every_definition() -> None:
    source = 's = """\ndef ghost():\n    pass\n"""\n@deco\n\ndef real(): ...\n'
    facts = facts_of(source)
    assert fn(facts, "real").line == 7


def test_function_facts() -> None:
    facts = facts_of(HANDLERS)
    get_user = fn(facts, "get_user")
    assert get_user.is_async and not fn(facts, "create_user").is_async
    assert get_user.docstring == "Get one user."
    assert [p.name for p in get_user.params] == ["req", "res", "lctx", "gctx"]
    assert all(p.kind == "positional" for p in get_user.params)
    assert isinstance(get_user.returns, ExConst) and get_user.returns.value is None
    [dec] = get_user.decorators
    assert isinstance(dec, ExCall) and [a.value for a in dec.args if isinstance(a, ExConst)] == ["GET", "/users/{id}"]
    assert len(fn(facts, "create_user").decorators) == 2


def test_module_and_param_uses() -> None:
    facts = facts_of(HANDLERS)
    get_user = fn(facts, "get_user")
    assert [u.name for u in get_user.module_uses] == ["db", "cache"]
    assert [u.name for u in get_user.param_uses] == ["id", "other"]
    create = fn(facts, "create_user")
    # the GlobalContext parameter is found by its annotation, whatever it is called
    assert [u.name for u in create.module_uses] == ["mail"]
    assert create.param_uses == ()


def test_uses_are_collected_only_for_decorated_functions() -> None:
    facts = facts_of("def helper(req, res, lctx, gctx):\n    gctx.modules['db']\n")
    assert fn(facts, "helper").module_uses == ()


def test_param_kinds() -> None:
    facts = facts_of("def f(a, /, b=1, *args, c, d=2, **kw): ...\n")
    params = fn(facts, "f").params
    assert [(p.name, p.kind, p.has_default) for p in params] == [
        ("a", "positional", False),
        ("b", "positional", True),
        ("c", "keyword", False),
        ("d", "keyword", True),
        ("args", "star", False),
        ("kw", "starstar", False),
    ]


# -- locate --------------------------------------------------------------------------------


def test_locate_gives_exact_spans_for_anchors() -> None:
    facts = facts_of(HANDLERS)
    get_user = fn(facts, "get_user")
    span = locate(HANDLERS, "app/mod.py", (*get_user.anchor, "name"))
    assert (span.line, span.col, span.end_line, span.end_col) == (16, 11, 16, 19)
    # a decorator argument spanning its own line
    dec = get_user.decorators[0]
    assert isinstance(dec, ExCall)
    path_span = locate(HANDLERS, "app/mod.py", dec.args[1].anchor)
    assert (path_span.line, path_span.col, path_span.end_col) == (14, 5, 18)
    # a use inside the body
    use = get_user.module_uses[1]
    use_span = locate(HANDLERS, "app/mod.py", use.anchor)
    assert (use_span.line, use_span.col) == (19, 13)
    param = get_user.param_uses[1]
    param_span = locate(HANDLERS, "app/mod.py", param.anchor)
    assert HANDLERS.splitlines()[param_span.line - 1][param_span.col - 1 : param_span.end_col - 1] == (
        'req.params["other"]'
    )


def test_locate_class_field_annotation_and_alias_value() -> None:
    source = "class C(TypedDict):\n    x: list[Foo]\n\nA = dict[str, Bar]\n"
    facts = facts_of(source)
    [field] = cls(facts, "C").fields
    assert isinstance(field.annotation, ExSub)
    inner = field.annotation.args[0]
    span = locate(source, "m.py", inner.anchor)
    assert (span.line, span.col, span.end_col) == (2, 13, 16)
    [alias] = facts.aliases
    assert isinstance(alias.value, ExSub)
    span = locate(source, "m.py", alias.value.args[1].anchor)
    assert (span.line, span.col, span.end_col) == (4, 15, 18)


def test_locate_inside_a_forward_reference_points_at_the_string() -> None:
    source = 'class C(TypedDict):\n    x: "list[Foo]"\n'
    [field] = cls(facts_of(source), "C").fields
    assert field.annotation is not None
    span = locate(source, "m.py", (*field.annotation.anchor, "value", 0))
    assert (span.line, span.col, span.end_col) == (2, 8, 19)


def test_locate_on_broken_text_is_a_point() -> None:
    span = locate("def (:\n", "m.py", ("body", 0))
    assert (span.path, span.line, span.col) == ("m.py", 1, 1)


# -- syntax errors -------------------------------------------------------------------------


def test_syntax_error_is_a_gati101_with_a_position_and_broken_facts() -> None:
    facts = facts_of("x = 1\ndef f(:\n    pass\n")
    assert facts.broken
    [diag] = facts.diagnostics
    assert diag.code == "GATI101"
    assert diag.span.path == "app/mod.py" and diag.span.line == 2


def test_alias_fact_is_frozen_and_hashable() -> None:
    [alias] = facts_of("X = int\n").aliases
    assert isinstance(alias, AliasFact)
    assert hash(alias) == hash(facts_of("X = int\n").aliases[0])


def test_node_classes_compared_by_identity_have_no_subclasses() -> None:
    """The reader tests `type(node) is cst.X` (an `isinstance` on libcst's ABC-based nodes costs
    a third of the reading time); that is only right while libcst has no subclasses of them."""
    import re
    from pathlib import Path

    import libcst as cst

    import gati_compiler.stages.cst_exprs as cst_exprs
    import gati_compiler.stages.handler_uses as handler_uses
    import gati_compiler.stages.parse as parse_module
    import gati_compiler.stages.positions as positions

    modules = (parse_module, cst_exprs, handler_uses, positions)
    source = "\n".join(Path(str(m.__file__)).read_text(encoding="utf-8") for m in modules)
    names = sorted(set(re.findall(r"type\([^()]*\) is (?:not )?cst\.([A-Za-z]+)", source)))
    assert len(names) > 20
    for name in names:
        assert getattr(cst, name).__subclasses__() == [], name
