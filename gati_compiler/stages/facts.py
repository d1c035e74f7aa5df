"""Facts: what `parse` reads out of one source file, before any name is resolved.

Input: nothing (data module). Output: small named tuples: immutable, cheap to build and cheap
to pickle across the worker pool (a frozen dataclass unpickles through a Python-level
`__setstate__`, several times slower). An `Anchor` is the attribute/index path from the libcst
`Module` to a node; `locate` turns it into a `Span` only when a diagnostic needs one.
"""

from __future__ import annotations

from typing import Literal, NamedTuple, TypeAlias

from pydantic import JsonValue

from gati_compiler.diagnostics.model import Diagnostic

Anchor: TypeAlias = tuple[str | int, ...]
ConstValue: TypeAlias = str | int | float | bool | None


class ExName(NamedTuple):
    """A dotted name as written: `str`, `t.Optional`, `models.User`."""

    name: str
    anchor: Anchor
    kind: Literal["name"] = "name"


class ExConst(NamedTuple):
    value: ConstValue
    anchor: Anchor
    kind: Literal["const"] = "const"


class ExSub(NamedTuple):
    base: Expr
    args: tuple[Expr, ...]
    anchor: Anchor
    kind: Literal["sub"] = "sub"


class ExOr(NamedTuple):
    items: tuple[Expr, ...]
    anchor: Anchor
    kind: Literal["or"] = "or"


class ExList(NamedTuple):
    items: tuple[Expr, ...]
    anchor: Anchor
    kind: Literal["list"] = "list"


class ExCall(NamedTuple):
    func: Expr
    args: tuple[Expr, ...]
    kwargs: tuple[tuple[str, Expr], ...]
    anchor: Anchor
    kind: Literal["call"] = "call"


class ExBad(NamedTuple):
    """An expression gati has no static meaning for; `text` is its source."""

    text: str
    anchor: Anchor
    kind: Literal["bad"] = "bad"


Expr: TypeAlias = ExName | ExConst | ExSub | ExOr | ExList | ExCall | ExBad


class ImportFact(NamedTuple):
    """`import a.b as c` (name None) or `from .a import b as c` (level 1)."""

    module: str
    name: str | None
    asname: str | None
    level: int
    anchor: Anchor

    @property
    def local(self) -> str:
        if self.asname:
            return self.asname
        if self.name is not None:
            return self.name
        return self.module.split(".")[0]


class FieldFact(NamedTuple):
    name: str
    annotation: Expr | None
    default: Expr | None
    description: str | None
    anchor: Anchor


class ParamFact(NamedTuple):
    name: str
    annotation: Expr | None
    kind: Literal["positional", "keyword", "star", "starstar"]
    has_default: bool
    anchor: Anchor


class Use(NamedTuple):
    """A static use inside a function body: `gctx.modules["db"]` or `req.params["id"]`."""

    name: str
    anchor: Anchor


class FunctionFact(NamedTuple):
    name: str
    is_async: bool
    params: tuple[ParamFact, ...]
    returns: Expr | None
    decorators: tuple[Expr, ...]
    docstring: str | None
    line: int
    anchor: Anchor
    module_uses: tuple[Use, ...] = ()
    param_uses: tuple[Use, ...] = ()
    # the literal codes of `res.status(201)` calls in the body, sorted and unique
    statuses: tuple[int, ...] = ()
    # decorated only: the body (after a docstring) is a lone `raise NotImplementedError[(...)]`
    stub: bool = False
    # decorated functions defined directly in this one's body (a misplaced transformer marker)
    nested: tuple[FunctionFact, ...] = ()
    # `gctx.secrets.get("name")` with a literal name
    secret_uses: tuple[Use, ...] = ()


class ClassFact(NamedTuple):
    name: str
    bases: tuple[Expr, ...]
    keywords: tuple[tuple[str, Expr], ...]
    decorators: tuple[Expr, ...]
    type_params: tuple[str, ...]
    fields: tuple[FieldFact, ...]
    methods: tuple[FunctionFact, ...]
    docstring: str | None
    line: int
    anchor: Anchor


class AliasFact(NamedTuple):
    """`X = <expr>`, `X: TypeAlias = <expr>` (explicit) or `type X[T] = <expr>` (explicit)."""

    name: str
    value: Expr
    explicit: bool
    type_params: tuple[str, ...]
    anchor: Anchor


class ModuleFacts(NamedTuple):
    rel_path: str
    module: str
    is_package: bool
    docstring: str | None = None
    imports: tuple[ImportFact, ...] = ()
    classes: tuple[ClassFact, ...] = ()
    functions: tuple[FunctionFact, ...] = ()
    aliases: tuple[AliasFact, ...] = ()
    other_names: tuple[str, ...] = ()
    exports: tuple[str, ...] | None = None
    diagnostics: tuple[Diagnostic, ...] = ()
    # True when the file failed to parse: its names exist but cannot be trusted
    broken: bool = False


def dump_facts(facts: ModuleFacts) -> dict[str, JsonValue]:
    """The canonical JSON form of one module's facts (`gatic build --dump=facts`)."""

    def conv(value: object) -> JsonValue:
        fields = getattr(type(value), "_fields", None)
        if isinstance(value, tuple) and fields is not None:
            return {name: conv(getattr(value, name)) for name in fields}
        if isinstance(value, tuple | list):
            return [conv(v) for v in value]
        if isinstance(value, Diagnostic):
            return value.model_dump(mode="json")
        if value is None or isinstance(value, str | int | float | bool):
            return value
        return str(value)

    out = conv(facts)
    assert isinstance(out, dict)
    return out
