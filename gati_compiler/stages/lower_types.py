"""Lowering of annotations: `Expr` trees written in a module → GTypes.

Input: `Expr` facts plus the `ResolvedProject` that says what names mean. Output: GTypes, and
the named definitions they reference (classes, explicit aliases, recursive aliases, generic
instances) under provisional keys that `finalize` turns into stable, collision-free refs.
Never raises on user input: a construct without a GType is a diagnostic and lowers to `any`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import libcst as cst
from pydantic import JsonValue

from gati_compiler.canonical import compact_json
from gati_compiler.diagnostics import codes
from gati_compiler.ir.gtype import (
    NULL,
    AnyType,
    ArrayType,
    EnumMember,
    EnumType,
    GType,
    IntersectionType,
    LiteralType,
    MapType,
    ObjectType,
    Origin,
    PrimitiveType,
    Property,
    RefType,
    Scalar,
    TupleType,
    UnionType,
)
from gati_compiler.stages.facts import (
    AliasFact,
    Anchor,
    ClassFact,
    ExBad,
    ExCall,
    ExConst,
    ExList,
    ExName,
    ExOr,
    Expr,
    ExSub,
    FieldFact,
)
from gati_compiler.stages.parse import nested_too_deeply, to_expr
from gati_compiler.stages.report import Reporter
from gati_compiler.stages.resolve import (
    ClassMember,
    External,
    Missing,
    ProjectDef,
    ProjectModule,
    ResolvedProject,
    Target,
)

_ALIASES: Final[dict[str, str]] = {
    "typing.List": "builtins.list",
    "typing.Dict": "builtins.dict",
    "typing.Set": "builtins.set",
    "typing.FrozenSet": "builtins.frozenset",
    "typing.Tuple": "builtins.tuple",
    "typing.Text": "builtins.str",
    "typing.AbstractSet": "typing.Set",
    "typing.MutableSequence": "typing.Sequence",
    "typing.MutableMapping": "typing.Mapping",
    "typing.MutableSet": "builtins.set",
    "typing.LiteralString": "builtins.str",
    "typing.Collection": "typing.Sequence",
    "typing.Iterable": "typing.Sequence",
}

_SCALARS: Final[dict[str, PrimitiveType | AnyType]] = {
    "builtins.str": PrimitiveType(type="string"),
    "builtins.int": PrimitiveType(type="integer"),
    "builtins.float": PrimitiveType(type="number"),
    "builtins.bool": PrimitiveType(type="boolean"),
    "builtins.bytes": PrimitiveType(type="string", format="bytes"),
    "builtins.object": AnyType(),
    "typing.Any": AnyType(),
    "datetime.datetime": PrimitiveType(type="string", format="date-time"),
    "datetime.date": PrimitiveType(type="string", format="date"),
    "datetime.time": PrimitiveType(type="string", format="time"),
    "datetime.timedelta": PrimitiveType(type="string", format="duration"),
    "uuid.UUID": PrimitiveType(type="string", format="uuid"),
    "decimal.Decimal": PrimitiveType(type="number", format="decimal"),
    "pydantic.EmailStr": PrimitiveType(type="string", format="email"),
    "pydantic.AnyUrl": PrimitiveType(type="string", format="uri"),
    "pydantic.HttpUrl": PrimitiveType(type="string", format="uri"),
}

_SEQUENCES: Final[dict[str, str]] = {
    "builtins.list": "list",
    "typing.Sequence": "sequence",
    "builtins.set": "set",
    "typing.Set": "set",
    "builtins.frozenset": "frozenset",
}
_MAPPINGS: Final = frozenset({"builtins.dict", "typing.Mapping"})
_FIELD_WRAPPERS: Final = frozenset({"typing.Required", "typing.NotRequired", "typing.ReadOnly"})
_ENUM_BASES: Final = frozenset({"enum.Enum", "enum.StrEnum", "enum.IntEnum", "enum.Flag", "enum.IntFlag"})
_STDLIB_ROOTS: Final = frozenset(
    {"builtins", "typing", "collections", "datetime", "uuid", "decimal", "enum", "dataclasses", "pathlib", "ipaddress"}
)
_KNOWN_FRAMEWORKS: Final = frozenset({"pydantic", "annotated_types", "gati_runtime_min", "typing_extensions"})
_CONSTRAINT_KEYS: Final[dict[str, str]] = {
    "gt": "exclusiveMinimum",
    "ge": "minimum",
    "lt": "exclusiveMaximum",
    "le": "maximum",
    "multiple_of": "multipleOf",
    "min_length": "min",
    "max_length": "max",
    "pattern": "pattern",
}
_ANNOTATED_TYPES: Final[dict[str, tuple[str, ...]]] = {
    "Gt": ("gt",),
    "Ge": ("ge",),
    "Lt": ("lt",),
    "Le": ("le",),
    "MultipleOf": ("multiple_of",),
    "MinLen": ("min_length",),
    "MaxLen": ("max_length",),
    "Len": ("min_length", "max_length"),
}
THIRD_PARTY_HELP: Final = (
    "describe the wire shape with a TypedDict, dataclass or pydantic model in this project, or annotate it as `Any`"
)


def canonical_name(qualname: str) -> str:
    """Normalise spellings of the same external name (`typing_extensions.X`, `collections.abc.X`)."""
    if qualname.startswith("typing_extensions."):
        qualname = "typing." + qualname.removeprefix("typing_extensions.")
    elif qualname.startswith("collections.abc."):
        qualname = "typing." + qualname.removeprefix("collections.abc.")
    elif qualname.startswith("annotated_types."):
        return qualname
    elif qualname.startswith("gati_runtime_min."):
        return "gati_runtime_min." + qualname.rsplit(".", 1)[-1]
    return _ALIASES.get(qualname, qualname)


@dataclass(frozen=True)
class Ctx:
    module: str
    rel_path: str
    env: Mapping[str, GType]


@dataclass(frozen=True)
class FieldInfo:
    """What an annotation says about a field beyond its type."""

    gtype: GType
    required: bool | None  # None: not said by Required/NotRequired
    read_only: bool
    description: str | None
    default: Expr | None
    alias: str | None
    class_var: bool


class TypeLowerer:
    """Lowers annotations of one project; keeps the named definitions it meets."""

    def __init__(self, project: ResolvedProject, reporter: Reporter) -> None:
        self.project = project
        self.reporter = reporter
        self.named: dict[str, GType] = {}
        self.display: dict[str, str] = {}
        self._in_progress: set[str] = set()
        self._alias_stack: list[tuple[str, int]] = []
        self._depth = 0
        self._recursive: set[str] = set()
        self._kind_cache: dict[str, str] = {}

    # -- entry points -----------------------------------------------------------------------

    def lower(self, expr: Expr, ctx: Ctx) -> GType:
        return self._lower(expr, ctx)

    def rel_path(self, module: str) -> str:
        facts = self.project.facts(module)
        return facts.rel_path if facts else module.replace(".", "/") + ".py"

    def error(
        self, code: codes.DiagnosticCode, message: str, ctx: Ctx, anchor: Anchor, help: str | None = None
    ) -> AnyType:
        self.reporter.report(code, message, ctx.rel_path, anchor, help=help)
        return AnyType()

    # -- expressions --------------------------------------------------------------------------

    def _lower(self, expr: Expr, ctx: Ctx) -> GType:
        match expr:
            case ExConst(value=None):
                return NULL
            case ExConst(value=str() as text):
                return self._forward(text, expr.anchor, ctx)
            case ExName(name=name):
                if name in ctx.env:
                    return ctx.env[name]
                return self._named_target(self.project.resolve(ctx.module, name), name, (), ctx, expr.anchor)
            case ExSub(base=base, args=args):
                if isinstance(base, ExName):
                    if base.name in ctx.env:
                        return self.error(
                            codes.UNSUPPORTED_ANNOTATION,
                            f"type variable `{base.name}` cannot take arguments",
                            ctx,
                            expr.anchor,
                        )
                    target = self.project.resolve(ctx.module, base.name)
                    return self._named_target(target, base.name, args, ctx, expr.anchor)
                return self._unsupported(expr, ctx)
            case ExOr(items=items):
                self._depth += 1
                try:
                    return union_of([self._lower(item, ctx) for item in items])
                finally:
                    self._depth -= 1
            case _:
                return self._unsupported(expr, ctx)

    def _unsupported(self, expr: Expr, ctx: Ctx) -> AnyType:
        text = expr.text if isinstance(expr, ExBad) else _describe(expr)
        return self.error(
            codes.UNSUPPORTED_ANNOTATION,
            f"`{text}` is not a type gati can describe",
            ctx,
            expr.anchor,
            help="use a class, `Literal[...]`, a container such as `list[...]`, or a union",
        )

    def _forward(self, text: str, anchor: Anchor, ctx: Ctx) -> GType:
        if nested_too_deeply(text):  # libcst's native parser would overflow its stack
            return self.error(codes.UNSUPPORTED_ANNOTATION, "forward reference is nested too deeply", ctx, anchor)
        try:
            node = cst.parse_expression(text)
        except (cst.ParserSyntaxError, cst.CSTValidationError, RecursionError):
            return self.error(codes.UNSUPPORTED_ANNOTATION, f"forward reference `{text}` does not parse", ctx, anchor)
        return self._lower(to_expr(node, anchor), ctx)

    def _named_target(self, target: Target, written: str, args: tuple[Expr, ...], ctx: Ctx, anchor: Anchor) -> GType:
        match target:
            case External(qualname=q):
                return self._external(canonical_name(q), written, args, ctx, anchor)
            case ProjectDef(fact=ClassFact() as cls):
                return self._class_ref(target, cls, args, ctx, anchor)
            case ProjectDef(fact=AliasFact() as alias):
                return self._alias(target, alias, args, ctx, anchor)
            case ProjectDef():
                return self.error(codes.NOT_A_TYPE, f"`{written}` is a value or function, not a type", ctx, anchor)
            case ProjectModule(module=m):
                return self.error(codes.NOT_A_TYPE, f"`{written}` is the module `{m}`, not a type", ctx, anchor)
            case ClassMember():
                return self.error(
                    codes.NOT_A_TYPE,
                    f"`{written}` is a class attribute, not a type",
                    ctx,
                    anchor,
                    help="an enum member as a type is written `Literal[Color.RED]`",
                )
            case Missing(broken=True):
                return AnyType()  # from a module that does not parse: its GATI101 is the report
            case Missing(reason=reason):
                return self.error(
                    codes.UNRESOLVED_NAME,
                    f"cannot resolve `{written}`: {reason}",
                    ctx,
                    anchor,
                    help="import the name from a module of this project or from `typing`",
                )

    # -- external (typing, stdlib, annotated-types, pydantic) ------------------------------------

    def _external(self, q: str, written: str, args: tuple[Expr, ...], ctx: Ctx, anchor: Anchor) -> GType:
        if q in _SCALARS:
            if args:
                return self.error(codes.GENERIC_ARITY, f"`{written}` takes no type arguments", ctx, anchor)
            return _SCALARS[q]
        self._depth += 1
        try:
            return self._external_generic(q, written, args, ctx, anchor)
        finally:
            self._depth -= 1

    def _external_generic(self, q: str, written: str, args: tuple[Expr, ...], ctx: Ctx, anchor: Anchor) -> GType:
        if q == "typing.Optional":
            if len(args) != 1:
                return self.error(codes.GENERIC_ARITY, "`Optional` takes exactly one type argument", ctx, anchor)
            return union_of([self._lower(args[0], ctx), NULL])
        if q == "typing.Union":
            return union_of([self._lower(a, ctx) for a in args])
        if q == "typing.Literal":
            return self._literal(args, ctx, anchor)
        if q == "typing.Annotated":
            if not args:
                return self.error(codes.GENERIC_ARITY, "`Annotated` needs a type", ctx, anchor)
            return self.annotated(args, ctx).gtype
        if q in _FIELD_WRAPPERS or q in ("typing.Final", "typing.ClassVar"):
            if len(args) != 1:
                return self.error(codes.GENERIC_ARITY, f"`{written}` takes exactly one type argument", ctx, anchor)
            return self._lower(args[0], ctx)
        if q in _SEQUENCES:
            if len(args) > 1:
                return self.error(codes.GENERIC_ARITY, f"`{written}` takes one type argument", ctx, anchor)
            items = self._lower(args[0], ctx) if args else AnyType()
            container = _SEQUENCES[q]
            return ArrayType(items=items, container=container, uniqueItems=container in ("set", "frozenset"))
        if q == "builtins.tuple":
            if len(args) == 2 and isinstance(args[1], ExName) and args[1].name == "...":
                return ArrayType(items=self._lower(args[0], ctx), container="tuple")
            if len(args) == 1 and isinstance(args[0], ExList) and not args[0].items:
                return TupleType(items=())
            if not args:
                return ArrayType(items=AnyType(), container="tuple")
            if any(isinstance(a, ExName) and a.name == "..." for a in args):
                return self._unsupported(args[-1], ctx)
            return TupleType(items=tuple(self._lower(a, ctx) for a in args))
        if q in _MAPPINGS:
            if len(args) not in (0, 2):
                return self.error(codes.GENERIC_ARITY, f"`{written}` takes two type arguments", ctx, anchor)
            keys: GType = self._lower(args[0], ctx) if args else PrimitiveType(type="string")
            if not _valid_key(keys, self.named):
                return self.error(
                    codes.UNSUPPORTED_ANNOTATION,
                    "JSON object keys must be strings, string enums or integers",
                    ctx,
                    args[0].anchor if args else anchor,
                )
            return MapType(keys=keys, values=self._lower(args[1], ctx) if args else AnyType())
        if q == "typing.NewType":
            return self.error(codes.UNSUPPORTED_ANNOTATION, "`NewType` must be assigned to a name", ctx, anchor)
        root = q.split(".")[0]
        if root in _STDLIB_ROOTS or root in _KNOWN_FRAMEWORKS:
            return self.error(
                codes.UNSUPPORTED_ANNOTATION,
                f"`{written}` (`{q}`) has no JSON form gati supports",
                ctx,
                anchor,
                help="use `str`, `int`, `float`, `bool`, `datetime`, `UUID`, `Decimal`, containers or project classes",
            )
        return self.error(
            codes.THIRD_PARTY_TYPE,
            f"`{written}` comes from `{root}`, a package gati does not read",
            ctx,
            anchor,
            help=THIRD_PARTY_HELP,
        )

    def _literal(self, args: tuple[Expr, ...], ctx: Ctx, anchor: Anchor) -> GType:
        values: list[Scalar] = []
        for arg in args:
            if isinstance(arg, ExConst) and (arg.value is None or isinstance(arg.value, str | int | bool)):
                values.append(arg.value)
                continue
            if isinstance(arg, ExName | ExSub):
                name = arg.name if isinstance(arg, ExName) else (arg.base.name if isinstance(arg.base, ExName) else "")
                target = self.project.resolve(ctx.module, name)
                if isinstance(target, ClassMember) and isinstance(target.owner.fact, ClassFact):
                    member = _enum_member(target.owner.fact, target.name, self._enum_auto_kind(target.owner))
                    if member is not None:
                        values.append(member.value)
                        continue
                if (
                    isinstance(target, External)
                    and canonical_name(target.qualname) == "typing.Literal"
                    and isinstance(arg, ExSub)
                ):
                    inner = self._literal(arg.args, ctx, arg.anchor)
                    if isinstance(inner, LiteralType):
                        values.extend(inner.values)
                        continue
            return self.error(
                codes.UNSUPPORTED_ANNOTATION,
                f"`{_describe(arg)}` is not a literal value",
                ctx,
                arg.anchor,
                help="`Literal` takes strings, integers, booleans, `None` or enum members",
            )
        if not values:
            return self.error(codes.GENERIC_ARITY, "`Literal` needs at least one value", ctx, anchor)
        unique: list[Scalar] = []
        for v in values:
            if not any(v == u and type(v) is type(u) for u in unique):
                unique.append(v)
        return LiteralType(values=tuple(unique))

    # -- Annotated and field metadata ---------------------------------------------------------

    def annotated(self, args: tuple[Expr, ...], ctx: Ctx) -> FieldInfo:
        """`Annotated[T, *metadata]`: the type with its constraints, plus description/default/alias."""
        info = self.field_info(args[0], ctx)
        gtype = info.gtype
        description, default, alias = info.description, info.default, info.alias
        for meta in args[1:]:
            if isinstance(meta, ExConst):
                continue  # plain metadata strings are documentation for humans
            if not isinstance(meta, ExCall) or not isinstance(meta.func, ExName):
                self._unsupported(meta, ctx)
                continue
            target = self.project.resolve(ctx.module, meta.func.name)
            q = canonical_name(target.qualname) if isinstance(target, External) else ""
            short = q.rsplit(".", 1)[-1]
            if q.startswith("annotated_types.") and short in _ANNOTATED_TYPES:
                keys = _ANNOTATED_TYPES[short]
                values = list(meta.args) + [v for k, v in meta.kwargs if k in ("min_length", "max_length")]
                for key, value in zip(keys, values, strict=False):
                    gtype = self._constrain(gtype, key, value, ctx)
            elif q == "annotated_types.Interval":
                for key, value in meta.kwargs:
                    gtype = self._constrain(gtype, key, value, ctx)
            elif q in (
                "pydantic.Field",
                "pydantic.fields.Field",
                "pydantic.StringConstraints",
                "pydantic.types.StringConstraints",
            ):
                for key, value in meta.kwargs:
                    if key in _CONSTRAINT_KEYS:
                        gtype = self._constrain(gtype, key, value, ctx)
                    elif key == "description" and isinstance(value, ExConst) and isinstance(value.value, str):
                        description = value.value
                    elif key == "default":
                        default = value
                    elif key in ("alias", "validation_alias", "serialization_alias") and isinstance(value, ExConst):
                        alias = str(value.value)
                    elif key in ("default_factory",):
                        default = meta
                    elif key not in ("title", "examples", "json_schema_extra", "strict", "frozen", "repr", "kw_only"):
                        self.error(
                            codes.UNSUPPORTED_ANNOTATION,
                            f"`{short}({key}=...)` is not supported by gati",
                            ctx,
                            value.anchor,
                        )
                if (
                    meta.args
                    and short == "Field"
                    and not (isinstance(meta.args[0], ExName) and meta.args[0].name == "...")
                ):
                    default = meta.args[0]
            elif q == "typing.Doc" and meta.args and isinstance(meta.args[0], ExConst):
                description = str(meta.args[0].value)
            elif q.startswith("pydantic.") and ("Validator" in short or "Serializer" in short):
                self.error(
                    codes.UNSUPPORTED_ANNOTATION,
                    f"`{short}` runs code gati cannot read statically",
                    ctx,
                    meta.anchor,
                    help="express the rule with constraints (`Ge`, `MaxLen`, `pattern=`) or drop it",
                )
            elif isinstance(target, External):
                continue  # metadata from other packages does not change the wire format
            else:
                self._unsupported(meta, ctx)
        return FieldInfo(gtype, info.required, info.read_only, description, default, alias, info.class_var)

    def field_info(self, expr: Expr, ctx: Ctx) -> FieldInfo:
        """Unwrap `Required`/`NotRequired`/`ReadOnly`/`ClassVar`/`Annotated` around a field type."""
        if isinstance(expr, ExSub) and isinstance(expr.base, ExName) and expr.base.name not in ctx.env:
            target = self.project.resolve(ctx.module, expr.base.name)
            q = canonical_name(target.qualname) if isinstance(target, External) else ""
            if q in _FIELD_WRAPPERS and len(expr.args) == 1:
                inner = self.field_info(expr.args[0], ctx)
                required = {"typing.Required": True, "typing.NotRequired": False}.get(q, inner.required)
                return FieldInfo(
                    inner.gtype,
                    required,
                    inner.read_only or q == "typing.ReadOnly",
                    inner.description,
                    inner.default,
                    inner.alias,
                    inner.class_var,
                )
            if q == "typing.ClassVar":
                return FieldInfo(AnyType(), None, False, None, None, None, True)
            if q == "typing.Annotated" and expr.args:
                return self.annotated(expr.args, ctx)
        if isinstance(expr, ExName) and expr.name not in ctx.env:
            target = self.project.resolve(ctx.module, expr.name)
            if isinstance(target, External) and canonical_name(target.qualname) in (
                "typing.ClassVar",
                "dataclasses.KW_ONLY",
            ):
                return FieldInfo(AnyType(), None, False, None, None, None, True)
        return FieldInfo(self._lower(expr, ctx), None, False, None, None, None, False)

    def _constrain(self, gtype: GType, key: str, value: Expr, ctx: Ctx) -> GType:
        if not isinstance(value, ExConst) or isinstance(value.value, bool) or value.value is None:
            return self.error(
                codes.UNSUPPORTED_ANNOTATION, f"constraint `{key}` needs a literal value", ctx, value.anchor
            )
        v = value.value
        attr = _CONSTRAINT_KEYS.get(key, key)
        if isinstance(gtype, UnionType):
            options = [self._apply(o, attr, v) for o in gtype.options]
            if all(o is None or opt == NULL for o, opt in zip(options, gtype.options, strict=True)):
                return self.error(
                    codes.UNSUPPORTED_ANNOTATION, f"constraint `{key}` does not apply to this type", ctx, value.anchor
                )
            return gtype.model_copy(
                update={"options": tuple(o or opt for o, opt in zip(options, gtype.options, strict=True))}
            )
        if isinstance(gtype, RefType) and gtype.ref in self.named:
            gtype = self.named[gtype.ref]
        applied = self._apply(gtype, attr, v)
        if applied is None:
            return self.error(
                codes.UNSUPPORTED_ANNOTATION, f"constraint `{key}` does not apply to this type", ctx, value.anchor
            )
        return applied

    @staticmethod
    def _apply(gtype: GType, attr: str, v: str | int | float) -> GType | None:
        numeric = isinstance(v, int | float)
        if isinstance(gtype, PrimitiveType):
            if (
                gtype.type in ("integer", "number")
                and numeric
                and attr in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")
            ):
                return gtype.model_copy(update={attr: v})
            if gtype.type == "string" and gtype.format in (None, "email", "uri"):
                if attr in ("min", "max") and isinstance(v, int):
                    return gtype.model_copy(update={"minLength" if attr == "min" else "maxLength": v})
                if attr == "pattern" and isinstance(v, str):
                    return gtype.model_copy(update={"pattern": v})
            return None
        if isinstance(gtype, ArrayType) and attr in ("min", "max") and isinstance(v, int):
            return gtype.model_copy(update={"minItems" if attr == "min" else "maxItems": v})
        if isinstance(gtype, MapType) and attr in ("min", "max") and isinstance(v, int):
            return gtype.model_copy(update={"minProperties" if attr == "min" else "maxProperties": v})
        return None

    # -- aliases -------------------------------------------------------------------------------

    def _alias(self, target: ProjectDef, alias: AliasFact, args: tuple[Expr, ...], ctx: Ctx, anchor: Anchor) -> GType:
        actx = Ctx(target.module, self.rel_path(target.module), {})
        value = alias.value
        if isinstance(value, ExCall) and isinstance(value.func, ExName):
            func = self.project.resolve(target.module, value.func.name)
            q = canonical_name(func.qualname) if isinstance(func, External) else ""
            if q == "typing.NewType" and len(value.args) == 2:
                return self._lower(value.args[1], actx)
            if q in ("typing.TypeVar", "typing.ParamSpec", "typing.TypeVarTuple"):
                return self.error(
                    codes.UNSUPPORTED_ANNOTATION,
                    f"type variable `{alias.name}` is not bound here",
                    ctx,
                    anchor,
                    help="type variables are only meaningful inside a generic class",
                )
        if isinstance(value, ExConst | ExCall | ExList | ExBad) and not (
            isinstance(value, ExConst) and (value.value is None or isinstance(value.value, str))
        ):
            return self.error(codes.NOT_A_TYPE, f"`{alias.name}` is a value, not a type", ctx, anchor)
        key = target.key
        params = alias.type_params
        if args and len(args) != len(params):
            return self.error(
                codes.GENERIC_ARITY,
                f"`{alias.name}` takes {len(params)} type argument(s), got {len(args)}",
                ctx,
                anchor,
            )
        if params:
            env = {
                p: (self._lower(a, ctx) if args else AnyType())
                for p, a in zip(params, args or [ExName("Any", anchor)] * len(params), strict=True)
            }
            key = _instance_key(key, [env[p] for p in params])
            actx = Ctx(actx.module, actx.rel_path, env)
        for stacked, depth in self._alias_stack:
            if stacked == key:
                if depth == self._depth:
                    return self.error(
                        codes.ALIAS_CYCLE,
                        f"type alias `{alias.name}` refers to itself without naming a type",
                        actx,
                        alias.anchor,
                        help="one alias in the cycle must name a real type",
                    )
                self._recursive.add(key)
                return RefType(ref=key)
        if key in self.named:
            return RefType(ref=key)
        self._alias_stack.append((key, self._depth))
        try:
            body = self._lower(value, actx)
        finally:
            self._alias_stack.pop()
        self_ref = RefType(ref=key)
        if key in self._recursive and (body == self_ref or (isinstance(body, UnionType) and self_ref in body.options)):
            # `Maybe = "Maybe | None"`: a union that contains itself directly names no new values
            return self.error(
                codes.ALIAS_CYCLE,
                f"type alias `{alias.name}` is a union that contains itself directly",
                actx,
                alias.anchor,
                help="recursion must go through a container or an object field, e.g. `list[...]`",
            )
        if alias.explicit or key in self._recursive:
            named = body.model_copy(update={"description": body.description})
            self.named[key] = named
            self.display[key] = (
                _instance_display(alias.name, [actx.env[p] for p in params], self.display) if params else alias.name
            )
            return RefType(ref=key)
        return body

    # -- classes -------------------------------------------------------------------------------

    def class_kind(self, target: ProjectDef) -> str:
        """typeddict | dataclass | model | enum | other, following project base classes."""
        cached = self._kind_cache.get(target.key)
        if cached is not None:
            return cached
        self._kind_cache[target.key] = "other"  # guards against base-class cycles
        cls = target.fact
        assert isinstance(cls, ClassFact)
        kind = "other"
        for dec in cls.decorators:
            func = dec.func if isinstance(dec, ExCall) else dec
            if isinstance(func, ExName):
                t = self.project.resolve(target.module, func.name)
                if isinstance(t, External) and t.qualname in (
                    "dataclasses.dataclass",
                    "pydantic.dataclasses.dataclass",
                ):
                    kind = "dataclass"
        for base in cls.bases:
            name = base.base if isinstance(base, ExSub) else base
            if not isinstance(name, ExName):
                continue
            t = self.project.resolve(target.module, name.name)
            if isinstance(t, External):
                q = canonical_name(t.qualname)
                if q == "typing.TypedDict":
                    kind = "typeddict"
                elif q in ("pydantic.BaseModel", "pydantic.main.BaseModel"):
                    kind = "model"
                elif q in _ENUM_BASES:
                    kind = "enum"
            elif isinstance(t, ProjectDef) and isinstance(t.fact, ClassFact):
                base_kind = self.class_kind(t)
                if base_kind != "other" and kind == "other":
                    kind = base_kind
        self._kind_cache[target.key] = kind
        return kind

    def _class_ref(self, target: ProjectDef, cls: ClassFact, args: tuple[Expr, ...], ctx: Ctx, anchor: Anchor) -> GType:
        kind = self.class_kind(target)
        if kind == "other":
            return self.error(
                codes.UNSUPPORTED_ANNOTATION,
                f"class `{cls.name}` is not a TypedDict, dataclass, pydantic model or Enum",
                ctx,
                anchor,
                help="derive it from `TypedDict` or `BaseModel`, or decorate it with `@dataclass`",
            )
        params = self.type_params(target)
        if args and len(args) != len(params):
            return self.error(
                codes.GENERIC_ARITY, f"`{cls.name}` takes {len(params)} type argument(s), got {len(args)}", ctx, anchor
            )
        bound: list[GType] = [self._lower(a, ctx) for a in args] if args else [AnyType() for _ in params]
        key = _instance_key(target.key, bound) if params else target.key
        if key in self.named or key in self._in_progress:
            return RefType(ref=key)
        self._in_progress.add(key)
        self.display[key] = _instance_display(cls.name, bound, self.display) if params else cls.name
        try:
            env = dict(zip(params, bound, strict=True))
            if kind == "enum":
                self.named[key] = self._enum(target, cls)
            else:
                self.named[key] = self._object(target, cls, kind, env)
        finally:
            self._in_progress.discard(key)
        return RefType(ref=key)

    def type_params(self, target: ProjectDef) -> tuple[str, ...]:
        cls = target.fact
        assert isinstance(cls, ClassFact)
        if cls.type_params:
            return cls.type_params
        params: list[str] = []
        for base in cls.bases:
            if isinstance(base, ExSub) and isinstance(base.base, ExName):
                t = self.project.resolve(target.module, base.base.name)
                if isinstance(t, External) and canonical_name(t.qualname) == "typing.Generic":
                    return tuple(a.name for a in base.args if isinstance(a, ExName))
                for a in base.args:
                    if isinstance(a, ExName) and self._is_typevar(target.module, a.name) and a.name not in params:
                        params.append(a.name)
        return tuple(params)

    def _is_typevar(self, module: str, name: str) -> bool:
        t = self.project.resolve(module, name)
        if isinstance(t, ProjectDef) and isinstance(t.fact, AliasFact):
            value = t.fact.value
            if isinstance(value, ExCall) and isinstance(value.func, ExName):
                f = self.project.resolve(t.module, value.func.name)
                return isinstance(f, External) and canonical_name(f.qualname) == "typing.TypeVar"
        return False

    def _enum_auto_kind(self, target: ProjectDef) -> str:
        return _auto_kind(self.project, target)

    def _enum(self, target: ProjectDef, cls: ClassFact) -> GType:
        ctx = Ctx(target.module, self.rel_path(target.module), {})
        members: list[EnumMember] = []
        auto_kind = self._enum_auto_kind(target)
        for i, f in enumerate(cls.fields):
            if f.annotation is not None or f.name.startswith("_"):
                continue
            member = _enum_member(cls, f.name, auto_kind, index=i)
            if member is None:
                self.error(
                    codes.UNSUPPORTED_ANNOTATION,
                    f"enum member `{cls.name}.{f.name}` needs a literal value",
                    ctx,
                    f.anchor,
                )
                continue
            members.append(member)
        origin = Origin(module=target.module, qualname=cls.name, kind="enum")
        return EnumType(name=cls.name, members=tuple(members), origin=origin, description=cls.docstring)

    def _object(self, target: ProjectDef, cls: ClassFact, kind: str, env: Mapping[str, GType]) -> GType:
        ctx = Ctx(target.module, self.rel_path(target.module), env)
        props: dict[str, Property] = {}
        owners: dict[str, str] = {}
        extra = "ignore"
        for base in cls.bases:
            base_name = base.base if isinstance(base, ExSub) else base
            if not isinstance(base_name, ExName):
                continue
            t = self.project.resolve(target.module, base_name.name)
            if isinstance(t, ProjectDef) and isinstance(t.fact, ClassFact) and self.class_kind(t) == kind:
                ref = self._lower(base, ctx)
                parent = self.named.get(ref.ref) if isinstance(ref, RefType) else None
                if isinstance(parent, ObjectType):
                    for p in parent.properties:
                        props[p.name] = p
                        owners[p.name] = t.name
                    extra = parent.extra
        total = True
        for key, value in cls.keywords:
            if key == "total" and isinstance(value, ExConst):
                total = bool(value.value)
            elif key in ("closed",) and isinstance(value, ExConst) and value.value is True:
                extra = "forbid"
            elif key == "extra" and isinstance(value, ExConst) and value.value in ("ignore", "forbid", "allow"):
                extra = str(value.value)
        for f in cls.fields:
            if f.annotation is None:
                if kind == "model" and f.name == "model_config":
                    extra = _config_extra(f, extra)
                continue
            if f.name.startswith("_") and kind != "typeddict":
                continue
            prop = self._property(f, kind, total, ctx)
            if prop is None:
                continue
            previous = props.get(prop.name)
            if (
                kind == "typeddict"
                and previous is not None
                and prop.name in owners  # a field written twice in one class: the last wins, as at run time
                and compact_json(_wire(previous.type)) != compact_json(_wire(prop.type))
            ):
                self.error(
                    codes.FIELD_CONFLICT,
                    f"`{cls.name}.{f.name}` redefines the field inherited from `{owners[prop.name]}` with another type",
                    ctx,
                    f.anchor,
                    help="a TypedDict cannot change the type of an inherited field; rename one of them",
                )
                continue
            props.pop(prop.name, None)
            props[prop.name] = prop
        origin_kind = {"typeddict": "typeddict", "dataclass": "dataclass", "model": "model"}[kind]
        return ObjectType(
            name=cls.name,
            properties=tuple(props.values()),
            extra=extra,
            origin=Origin(module=target.module, qualname=cls.name, kind=origin_kind),
            description=cls.docstring,
        )

    def _property(self, f: FieldFact, kind: str, total: bool, ctx: Ctx) -> Property | None:
        assert f.annotation is not None
        info = self.field_info(f.annotation, ctx)
        if info.class_var:
            return None
        description = info.description or f.description
        default_expr = f.default if f.default is not None else info.default
        alias = info.alias
        has_default = False
        default: JsonValue = None
        if default_expr is not None and kind != "typeddict":
            found = self._default(default_expr, ctx)
            has_default, default = found.has, found.value
            alias = alias or found.alias
            description = description or found.description
            gtype = info.gtype
            for key, value in found.constraints:
                gtype = self._constrain(gtype, key, value, ctx)
            info = FieldInfo(gtype, info.required, info.read_only, info.description, info.default, info.alias, False)
        required = (total if info.required is None else info.required) if kind == "typeddict" else not has_default
        return Property(
            name=alias or f.name,
            type=info.gtype,
            required=required,
            description=description,
            hasDefault=has_default,
            default=default,
            pyName=f.name if alias and alias != f.name else None,
            readOnly=info.read_only,
        )

    def _default(self, expr: Expr, ctx: Ctx) -> _Default:
        """A field default, and what a `Field(...)`/`field(...)` call says besides."""
        if isinstance(expr, ExCall) and isinstance(expr.func, ExName):
            t = self.project.resolve(ctx.module, expr.func.name)
            q = canonical_name(t.qualname) if isinstance(t, External) else ""
            if q in ("pydantic.Field", "pydantic.fields.Field", "dataclasses.field"):
                found = _Default(False, None)
                if expr.args and not (isinstance(expr.args[0], ExName) and expr.args[0].name == "..."):
                    found.has, found.value = True, _static(expr.args[0], self.project, ctx.module)
                for key, v in expr.kwargs:
                    if key == "default":
                        found.has, found.value = True, _static(v, self.project, ctx.module)
                    elif key == "default_factory":
                        found.has, found.value = True, _factory(v, self.project, ctx.module)
                    elif key == "alias" and isinstance(v, ExConst) and isinstance(v.value, str):
                        found.alias = v.value
                    elif key == "description" and isinstance(v, ExConst) and isinstance(v.value, str):
                        found.description = v.value
                    elif key in _CONSTRAINT_KEYS:
                        found.constraints.append((key, v))
                return found
        return _Default(True, _static(expr, self.project, ctx.module))


@dataclass
class _Default:
    has: bool
    value: JsonValue
    alias: str | None = None
    description: str | None = None
    constraints: list[tuple[str, Expr]] = field(default_factory=list)


# -- helpers ----------------------------------------------------------------------------------


def union_of(options: list[GType]) -> GType:
    flat: list[GType] = []
    seen: set[str] = set()
    for option in options:
        for o in option.options if isinstance(option, UnionType) and option.discriminator is None else (option,):
            key = compact_json(o.model_dump(mode="json", exclude_none=True))
            if key not in seen:
                seen.add(key)
                flat.append(o)
    if len(flat) == 1:
        return flat[0]
    return UnionType(options=tuple(flat))


def _describe(expr: Expr) -> str:
    match expr:
        case ExName(name=n):
            return n
        case ExConst(value=v):
            return repr(v)
        case ExSub(base=b, args=args):
            return f"{_describe(b)}[{', '.join(_describe(a) for a in args)}]"
        case ExOr(items=items):
            return " | ".join(_describe(i) for i in items)
        case ExList(items=items):
            return f"[{', '.join(_describe(i) for i in items)}]"
        case ExCall(func=f):
            return f"{_describe(f)}(...)"
        case ExBad(text=t):
            return t


def _wire(g: GType) -> JsonValue:
    return g.model_dump(mode="json", exclude_none=True, exclude={"description"})


def _static(expr: Expr, project: ResolvedProject, module: str) -> JsonValue:
    """The JSON value of a literal default (enum members too), or `None` when computed at run time."""
    match expr:
        case ExConst(value=v):
            return v
        case ExList(items=items):
            values = [_static(i, project, module) for i in items]
            return values if all(v is not None for v in values) else None
        case ExName(name=name):
            target = project.resolve(module, name)
            if isinstance(target, ClassMember) and isinstance(target.owner.fact, ClassFact):
                member = _enum_member(target.owner.fact, target.name, _auto_kind(project, target.owner))
                return member.value if member is not None else None
            return None
        case _:
            return None


def _factory(expr: Expr, project: ResolvedProject, module: str) -> JsonValue:
    if isinstance(expr, ExName):
        t = project.resolve(module, expr.name)
        if isinstance(t, External):
            if t.qualname in ("builtins.list", "builtins.set", "builtins.tuple", "builtins.frozenset"):
                return []
            if t.qualname == "builtins.dict":
                return {}
    return None


def _is_json(value: object) -> bool:
    if value is None or isinstance(value, str | int | float | bool):
        return True
    if isinstance(value, list):
        return all(_is_json(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v) for k, v in value.items())
    return False


def _config_extra(f: FieldFact, current: str) -> str:
    if isinstance(f.default, ExCall):
        for key, value in f.default.kwargs:
            if key == "extra" and isinstance(value, ExConst) and value.value in ("ignore", "forbid", "allow"):
                return str(value.value)
    return current


def _enum_member(cls: ClassFact, name: str, auto_kind: str, index: int | None = None) -> EnumMember | None:
    members = [f for f in cls.fields if f.annotation is None and not f.name.startswith("_")]
    last = 0  # `auto()` is the last integer value + 1, as `Enum._generate_next_value_`
    for f in members:
        value = f.default
        member: EnumMember | None = None
        if isinstance(value, ExConst) and isinstance(value.value, str | int | float | bool):
            member = EnumMember(name=f.name, value=value.value)
        elif isinstance(value, ExCall) and isinstance(value.func, ExName) and value.func.name.split(".")[-1] == "auto":
            last = (1 << last.bit_length()) if auto_kind == "flag" else last + 1
            auto: str | int = f.name.lower() if auto_kind == "str" else last
            member = EnumMember(name=f.name, value=str(auto) if auto_kind == "str-mixin" else auto)
        if member is not None and type(member.value) is int:
            last = member.value
        if f.name == name:
            return member
    return None


def _auto_kind(project: ResolvedProject, target: ProjectDef) -> str:
    """What `auto()` gives in this enum: `str` (StrEnum: the lower-cased name), `str-mixin`, `flag` or `int`."""
    cls = target.fact
    assert isinstance(cls, ClassFact)
    for base in cls.bases:
        if isinstance(base, ExName):
            t = project.resolve(target.module, base.name)
            if isinstance(t, External) and t.qualname == "enum.StrEnum":
                return "str"
            if isinstance(t, External) and t.qualname == "builtins.str":
                return "str-mixin"
            if isinstance(t, External) and t.qualname in ("enum.Flag", "enum.IntFlag"):
                return "flag"
    return "int"


def _valid_key(keys: GType, named: Mapping[str, GType]) -> bool:
    if isinstance(keys, RefType):
        keys = named.get(keys.ref, keys)
    if isinstance(keys, PrimitiveType):
        return keys.type in ("string", "integer") and keys.format in (None, "uuid", "date")
    if isinstance(keys, LiteralType):
        return all(isinstance(v, str) for v in keys.values)
    if isinstance(keys, EnumType):
        return all(isinstance(m.value, str) for m in keys.members)
    if isinstance(keys, UnionType):
        return all(_valid_key(o, named) for o in keys.options)
    return isinstance(keys, AnyType)


def _arg_key(g: GType) -> str:
    return compact_json(g.model_dump(mode="json", exclude_none=True))


def _instance_key(base: str, args: list[GType]) -> str:
    return f"{base}[{','.join(_arg_key(a) for a in args)}]"


def display_of(g: GType, display: Mapping[str, str]) -> str:
    """A short readable name for a type argument (`User`, `str`, `list_User`)."""
    match g:
        case RefType(ref=r):
            return display.get(r, r.rsplit(".", 1)[-1])
        case PrimitiveType(type=t, format=fmt):
            return (
                {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "null": "None"}[t]
                if fmt is None
                else fmt.replace("-", "_")
            )
        case ArrayType(items=items):
            return "list_" + display_of(items, display)
        case MapType(values=values):
            return "dict_" + display_of(values, display)
        case UnionType(options=options):
            return "_or_".join(display_of(o, display) for o in options)
        case _:
            return g.kind


def _instance_display(name: str, args: list[GType], display: Mapping[str, str]) -> str:
    return "_".join([name, *(display_of(a, display) for a in args)])


def map_refs(g: GType, rename: Callable[[str], str]) -> GType:
    """`g` with every ref renamed; models are frozen, so unchanged subtrees are shared, not copied."""
    match g:
        case RefType(ref=r):
            new = rename(r)
            return g if new == r else g.model_copy(update={"ref": new})
        case ArrayType(items=items):
            mapped = map_refs(items, rename)
            return g if mapped is items else g.model_copy(update={"items": mapped})
        case TupleType(items=items):
            many = tuple(map_refs(i, rename) for i in items)
            return g if _same(many, items) else g.model_copy(update={"items": many})
        case MapType(keys=k, values=v):
            mk, mv = map_refs(k, rename), map_refs(v, rename)
            return g if mk is k and mv is v else g.model_copy(update={"keys": mk, "values": mv})
        case UnionType(options=options):
            many = tuple(map_refs(o, rename) for o in options)
            return g if _same(many, options) else g.model_copy(update={"options": many})
        case IntersectionType(parts=parts):
            many = tuple(map_refs(p, rename) for p in parts)
            return g if _same(many, parts) else g.model_copy(update={"parts": many})
        case ObjectType(properties=props):
            types = [map_refs(p.type, rename) for p in props]
            if all(t is p.type for t, p in zip(types, props, strict=True)):
                return g
            return g.model_copy(
                update={
                    "properties": tuple(
                        p if t is p.type else p.model_copy(update={"type": t})
                        for t, p in zip(types, props, strict=True)
                    )
                }
            )
        case _:
            return g


def _same(new: tuple[GType, ...], old: Sequence[GType]) -> bool:
    return len(new) == len(old) and all(a is b for a, b in zip(new, old, strict=True))
