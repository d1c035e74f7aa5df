"""Generated module declarations for the module properties (4, 18, 28, 40): `@module` classes as
data, rendered to Python source, built by the real compiler.

A `ModuleSpec` has an id, a class, options (capabilities, egress, command/pool, timeout, retries,
description) and methods whose parameters and results are drawn from the type vocabulary of
property 9 (`type_exprs`: primitives, constrained `Annotated` types, literals, optionals, unions,
lists, tuples, dicts, references to generated TypedDicts) plus, with `rich=True`, the types that
have a JSON form different from their Python one (dates, datetimes, UUIDs, enums, a dataclass).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Final

from hypothesis import strategies as st

from gati_compiler.diagnostics.render import render_text
from gati_compiler.pipeline import BuildResult, build
from tests.property.test_property_09_gtype_schema_generation import Field, declarations, source
from tests.unit.conftest import write_project

RICH_LEAVES: Final = ("datetime.date", "datetime.datetime", "uuid.UUID", "Color", "Level", "Item")
MODELS_EXTRA: Final = """
import datetime
import enum
import uuid
from dataclasses import dataclass


class Color(enum.StrEnum):
    RED = "red"
    BLUE = "blue"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


@dataclass
class Item:
    name: str
    qty: int
"""
IDENT_CHARS: Final = "abcdefghijklmnopqrstuvwxyz"
KEYWORDS: Final = frozenset(
    {"and", "as", "if", "in", "is", "or", "not", "def", "del", "for", "try", "from", "with", "else", "elif"}
    | {"pass", "None", "True", "False", "class", "while", "break", "raise", "yield", "async", "await"}
    | {"assert", "global", "import", "lambda", "return", "except", "finally", "continue", "nonlocal"}
)
IDENTS: Final = st.text(IDENT_CHARS, min_size=1, max_size=7).filter(lambda s: s not in KEYWORDS)


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    optional: bool  # declared with a default (`= None` when the type allows it, else `= ...`)


@dataclass(frozen=True)
class MethodSpec:
    name: str
    params: tuple[Param, ...]
    returns: str
    timeout: float | None = None  # @method(timeout=...)
    retries: int | None = None  # @method(retries=...), only with idempotent=True
    idempotent: bool | None = None  # @method(idempotent=...); None: no @method
    is_async: bool = True


@dataclass(frozen=True)
class ModuleSpec:
    module_id: str
    class_name: str
    methods: tuple[MethodSpec, ...]
    capabilities: tuple[str, ...] = ()
    egress: tuple[str, ...] = ()
    command: tuple[str, ...] | None = ("{python}", "mod.py")
    pool: int | None = None
    timeout: float | None = None
    retries: int | None = None
    description: str | None = None

    def render(self) -> str:
        """The class as a user writes it: a Protocol out of process, an implementation in process."""
        opts = [repr(self.module_id)]
        if self.capabilities:
            opts.append(f"capabilities={list(self.capabilities)!r}")
        if self.egress:
            opts.append(f"egress={tuple(self.egress)!r}")
        if self.command is not None:
            opts.append(f"command={list(self.command)!r}")
        if self.pool is not None:
            opts.append(f"pool={self.pool}")
        if self.timeout is not None:
            opts.append(f"timeout={self.timeout!r}")
        if self.retries is not None:
            opts.append(f"retries={self.retries}")
        if self.description is not None:
            opts.append(f"description={self.description!r}")
        base = "(Protocol)" if self.command is not None else ""
        lines = ["", "", f"@module({', '.join(opts)})", f"class {self.class_name}{base}:"]
        for m in self.methods:
            if m.idempotent is not None or m.timeout is not None or m.retries is not None:
                kw = []
                if m.timeout is not None:
                    kw.append(f"timeout={m.timeout!r}")
                if m.retries is not None:
                    kw.append(f"retries={m.retries}")
                if m.idempotent is not None:
                    kw.append(f"idempotent={m.idempotent}")
                lines.append(f"    @method({', '.join(kw)})")
            params = "".join(f", {p.name}: {p.type}" + (" = ..." if p.optional else "") for p in m.params)
            prefix = "async def" if m.is_async else "def"
            body = " ..." if self.command is not None else "\n        raise NotImplementedError"
            lines.append(f"    {prefix} {m.name}(self{params}) -> {m.returns}:{body}")
        if not self.methods:
            lines.append("    pass")
        return "\n".join(lines) + "\n"


def type_exprs(classes: int, rich: bool) -> st.SearchStrategy[str]:
    from tests.property.test_property_09_gtype_schema_generation import LEAVES

    leaves = st.sampled_from([*LEAVES, *(RICH_LEAVES if rich else ()), *(f"Td{i}" for i in range(classes))])
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            inner.map(lambda t: f"list[{t}]"),
            inner.map(lambda t: f"dict[str, {t}]"),
            inner.map(lambda t: f"Optional[{t}]"),
            st.tuples(inner, inner).map(lambda p: f"tuple[{p[0]}, {p[1]}]"),
        ),
        max_leaves=3,
    )


@st.composite
def methods(draw: st.DrawFn, classes: int, rich: bool, max_methods: int = 4) -> tuple[MethodSpec, ...]:
    names = draw(st.lists(IDENTS, min_size=1, max_size=max_methods, unique=True))
    out = []
    for name in names:
        pnames = draw(st.lists(IDENTS.filter(lambda s: s != "self"), max_size=3, unique=True))
        types = [draw(type_exprs(classes, rich)) for _ in pnames]
        first_optional = draw(st.integers(0, len(pnames)))  # defaults only at the end
        params = tuple(Param(n, t, i >= first_optional) for i, (n, t) in enumerate(zip(pnames, types, strict=True)))
        returns = draw(type_exprs(classes, rich))
        out.append(MethodSpec(f"m_{name}", params, returns))
    return tuple(out)


@st.composite
def typed_modules(draw: st.DrawFn, rich: bool) -> tuple[list[list[Field]], ModuleSpec]:
    """TypedDict declarations (property 9's) and one out-of-process module using them."""
    classes = draw(declarations())
    mod_id = draw(IDENTS)
    return classes, ModuleSpec(mod_id, "Mod" + mod_id.capitalize(), draw(methods(len(classes), rich)))


def models_source(classes: list[list[Field]]) -> str:
    return source(classes) + MODELS_EXTRA


def modules_source(specs: tuple[ModuleSpec, ...]) -> str:
    head = (
        "from __future__ import annotations\n\n"
        "import datetime\nimport uuid\n"
        "from typing import Annotated, Literal, Optional, Protocol, Union\n\n"
        "from annotated_types import Ge, Gt, Le, MaxLen, MinLen\n\n"
        "from gati_runtime_min import method, module\n"
        "from app.models import *  # noqa: F403\n"
    )
    return head + "".join(s.render() for s in specs)


def build_modules(root: Path, classes: list[list[Field]], specs: tuple[ModuleSpec, ...]) -> BuildResult:
    """Build an app made of the models and the modules (no handler) into `root/.gati`."""
    write_project(
        root,
        {"app/__init__.py": "", "app/models.py": models_source(classes), "app/mods.py": modules_source(specs)},
    )
    result = build(root, jobs=1)
    assert result.ok and result.program is not None, render_text(result.diagnostics, result.sources)
    return result


def forget(*packages: str) -> None:
    for name in [m for m in sys.modules if m.split(".")[0] in packages]:
        del sys.modules[name]


@contextmanager
def imported_validators(root: Path) -> Iterator[tuple[ModuleType, ModuleType]]:
    """The build's generated validators module and the app's models, imported from `root`."""
    forget("app")
    sys.path.insert(0, str(root))
    try:
        name = f"_gati_validators_{root.name}"
        spec = importlib.util.spec_from_file_location(name, root / ".gati" / "validators" / "__init__.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module, importlib.import_module("app.models")
    finally:
        while str(root) in sys.path:
            sys.path.remove(str(root))
        forget("app")


def annotation(models: ModuleType, expr: str) -> Any:
    """The Python type a type expression of the vocabulary stands for, in the models' namespace."""
    return eval(expr, vars(models))  # our own generated expressions
