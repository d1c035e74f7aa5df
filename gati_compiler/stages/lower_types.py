"""Lowering of annotations: `Expr` trees written in a module → GTypes.

Input: `Expr` facts plus the `ResolvedProject` that says what names mean. Output: GTypes, and
the named definitions they reference (classes, explicit aliases, recursive aliases, generic
instances) under provisional keys that `finalize` turns into stable, collision-free refs.
Never raises on user input: a construct without a GType is a diagnostic and lowers to `any`.

This module lowers expressions; the classes and aliases they name are `lower_classes`
(`ClassLowering`, a base of `TypeLowerer`), and what both share is `lower_common`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import libcst as cst

from gati_compiler.diagnostics import codes
from gati_compiler.ir.gtype import (
    NULL,
    AnyType,
    ArrayType,
    EnumType,
    GType,
    IntersectionType,
    LiteralType,
    MapType,
    ObjectType,
    PrimitiveType,
    RefType,
    Scalar,
    TupleType,
    UnionType,
)
from gati_compiler.stages.cst_exprs import to_expr
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
)
from gati_compiler.stages.lower_classes import ClassLowering, describe, enum_member
from gati_compiler.stages.lower_common import (
    ANNOTATED_TYPES,
    CONSTRAINT_KEYS,
    FIELD_WRAPPERS,
    KNOWN_FRAMEWORKS,
    MAPPINGS,
    NEEDS_PACKAGE,
    SCALARS,
    SEQUENCES,
    STDLIB_ROOTS,
    THIRD_PARTY_HELP,
    Ctx,
    FieldInfo,
    canonical_name,
    package_installed,
    union_of,
)
from gati_compiler.stages.parse import nested_too_deeply
from gati_compiler.stages.resolve import (
    ClassMember,
    External,
    Missing,
    ProjectDef,
    ProjectModule,
    Target,
)


class TypeLowerer(ClassLowering):
    """Lowers annotations of one project; keeps the named definitions it meets."""

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
        text = expr.text if isinstance(expr, ExBad) else describe(expr)
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
                close = self.project.suggest(ctx.module, written)
                return self.error(
                    codes.UNRESOLVED_NAME,
                    f"cannot resolve `{written}`: {reason}",
                    ctx,
                    anchor,
                    help=did_you_mean(close),
                )

    # -- external (typing, stdlib, annotated-types, pydantic) ------------------------------------

    def _external(self, q: str, written: str, args: tuple[Expr, ...], ctx: Ctx, anchor: Anchor) -> GType:
        if q in NEEDS_PACKAGE and not package_installed(NEEDS_PACKAGE[q][0]):
            dist = NEEDS_PACKAGE[q][1]
            self.reporter.report(
                codes.RUNTIME_DEPENDENCY,
                f"`{written}` needs `{dist}` at run time (pydantic refuses to build it without), "
                "and it is not installed here",
                ctx.rel_path,
                anchor,
                help=f"add `{dist}` to the app's dependencies and install it where gatic runs",
            )
        if q in SCALARS:
            if args:
                return self.error(codes.GENERIC_ARITY, f"`{written}` takes no type arguments", ctx, anchor)
            return SCALARS[q]
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
        if q in FIELD_WRAPPERS or q in ("typing.Final", "typing.ClassVar"):
            if len(args) != 1:
                return self.error(codes.GENERIC_ARITY, f"`{written}` takes exactly one type argument", ctx, anchor)
            return self._lower(args[0], ctx)
        if q in SEQUENCES:
            if len(args) > 1:
                return self.error(codes.GENERIC_ARITY, f"`{written}` takes one type argument", ctx, anchor)
            items = self._lower(args[0], ctx) if args else AnyType()
            container = SEQUENCES[q]
            # pydantic accepts duplicates in a set and drops them: so do the decoder and the schema
            return ArrayType(items=items, container=container)
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
        if q in MAPPINGS:
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
        if root in STDLIB_ROOTS or root in KNOWN_FRAMEWORKS:
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
                    member = enum_member(target.owner.fact, target.name, self._enum_auto_kind(target.owner))
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
                f"`{describe(arg)}` is not a literal value",
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
            marker = meta.func if isinstance(meta, ExCall) else meta
            if isinstance(marker, ExName) and self._inert_project_marker(marker, ctx):
                continue  # pydantic ignores metadata it does not know, and so do we
            if not isinstance(meta, ExCall) or not isinstance(meta.func, ExName):
                self._unsupported(meta, ctx)
                continue
            target = self.project.resolve(ctx.module, meta.func.name)
            q = canonical_name(target.qualname) if isinstance(target, External) else ""
            short = q.rsplit(".", 1)[-1]
            if q.startswith("annotated_types.") and short in ANNOTATED_TYPES:
                keys = ANNOTATED_TYPES[short]
                values = list(meta.args) + [v for k, v in meta.kwargs if k in ("min_length", "max_length")]
                for key, value in zip(keys, values, strict=False):
                    gtype = self._constrain(gtype, key, value, ctx)
            elif q == "annotated_types.Interval":
                for key, value in meta.kwargs:
                    gtype = self._constrain(gtype, key, value, ctx)
            elif q in (
                "pydantic.Field",
                "pydantic.fields.Field",
                "pydantic.fields.FieldInfo",
                "pydantic.StringConstraints",
                "pydantic.types.StringConstraints",
            ):
                for key, value in meta.kwargs:
                    if key in CONSTRAINT_KEYS:
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

    def _inert_project_marker(self, marker: ExName, ctx: Ctx) -> bool:
        """A project class (or instance of one) used as `Annotated` metadata that pydantic ignores.

        pydantic reads metadata through `__get_pydantic_core_schema__` (and annotated-types'
        protocol); a project class without that hook is a marker for other tools, such as an
        SDK's `PropertyInfo(alias=...)`. One with the hook changes validation: reported.
        """
        target = self.project.resolve(ctx.module, marker.name)
        if not isinstance(target, ProjectDef) or not isinstance(target.fact, ClassFact):
            return False
        hooks = ("__get_pydantic_core_schema__", "__get_pydantic_json_schema__", "__get_validators__")
        for owner in self._class_chain(target):
            cls = owner.fact
            assert isinstance(cls, ClassFact)
            found = next((m.name for m in cls.methods if m.name in hooks), None)
            if found is not None:
                self.error(
                    codes.UNSUPPORTED_ANNOTATION,
                    f"`{marker.name}` changes validation through `{found}`, which gati cannot read statically",
                    ctx,
                    marker.anchor,
                    help="express the rule with constraints (`Ge`, `MaxLen`, `pattern=`) or drop the marker",
                )
                return True
        return True

    def _class_chain(self, target: ProjectDef) -> list[ProjectDef]:
        """`target` and its project base classes, each once."""
        out: list[ProjectDef] = []
        todo = [target]
        while todo:
            t = todo.pop()
            if any(o.key == t.key for o in out):
                continue
            out.append(t)
            assert isinstance(t.fact, ClassFact)
            for _, base in self._bases(t, t.fact):
                if isinstance(base, ProjectDef) and isinstance(base.fact, ClassFact):
                    todo.append(base)
        return out

    def field_info(self, expr: Expr, ctx: Ctx) -> FieldInfo:
        """Unwrap `Required`/`NotRequired`/`ReadOnly`/`ClassVar`/`Annotated` around a field type."""
        if isinstance(expr, ExSub) and isinstance(expr.base, ExName) and expr.base.name not in ctx.env:
            target = self.project.resolve(ctx.module, expr.base.name)
            q = canonical_name(target.qualname) if isinstance(target, External) else ""
            if q in FIELD_WRAPPERS and len(expr.args) == 1:
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
        attr = CONSTRAINT_KEYS.get(key, key)
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
        if isinstance(gtype, ArrayType) and gtype.container in ("set", "frozenset") and attr in ("min", "max"):
            return self.error(
                codes.UNSUPPORTED_ANNOTATION,
                f"`{key}` on a set counts distinct items, which JSON Schema cannot state",
                ctx,
                value.anchor,
                help="pydantic drops duplicates before it counts; use `list[...]` for a length bound, or drop it",
            )
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


def did_you_mean(close: tuple[str, str | None] | None) -> str:
    """The help line of an unresolved name, from `ResolvedProject.suggest`."""
    if close is None:
        return "import the name from a module of this project or from `typing`"
    name, module = close
    if module is None:
        return f"did you mean `{name}`?"
    return f"did you mean `{name}`? it is defined in `{module}`: `from {module} import {name}`"
