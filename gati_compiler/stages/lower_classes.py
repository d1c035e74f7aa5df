"""Lowering of the classes and aliases annotations name: TypedDicts, dataclasses, pydantic models,
enums, explicit and PEP 695 aliases, generic instances. A mixin of `TypeLowerer`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from pydantic import JsonValue

from gati_compiler.canonical import compact_json
from gati_compiler.diagnostics import codes
from gati_compiler.ir.gtype import (
    AnyType,
    EnumMember,
    EnumType,
    GType,
    ObjectType,
    Origin,
    Property,
    RefType,
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
from gati_compiler.stages.lower_common import (
    ALIAS_GENERATORS,
    CONSTRAINT_KEYS,
    ENUM_BASES,
    Ctx,
    FieldInfo,
    canonical_name,
    instance_display,
    instance_key,
    wire,
)
from gati_compiler.stages.lower_pydantic import PydanticLowering
from gati_compiler.stages.resolve import (
    ClassMember,
    External,
    ProjectDef,
    ResolvedProject,
    Target,
)


class ClassLowering(PydanticLowering):
    """Named definitions: classes become object, enum or ref GTypes; aliases are expanded or kept."""

    # implemented by `TypeLowerer` (lower_types.py)
    def _named_target(self, target: Target, written: str, args: tuple[Expr, ...], ctx: Ctx, anchor: Anchor) -> GType:
        raise NotImplementedError

    def _bases(self, target: ProjectDef, cls: ClassFact) -> Iterator[tuple[Expr, Target]]:
        """Each base class written as a name (`Base` or `Base[...]`) with what that name means."""
        for base in cls.bases:
            name = base.base if isinstance(base, ExSub) else base
            if isinstance(name, ExName):
                yield base, self.project.resolve(target.module, name.name)

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
        if args and not params and isinstance(value, ExName):
            # `SequenceNotStr = Sequence`, then `SequenceNotStr[str]`: the alias stands for the
            # generic itself, so the arguments go to what it names (written in the caller's module)
            aliased = self.project.resolve(target.module, value.name)
            if not (isinstance(aliased, ProjectDef) and aliased.key == target.key):
                return self._named_target(aliased, alias.name, args, ctx, anchor)
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
            key = instance_key(key, [env[p] for p in params])
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
                instance_display(alias.name, [actx.env[p] for p in params], self.display) if params else alias.name
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
        for _, t in self._bases(target, cls):
            if isinstance(t, External):
                q = canonical_name(t.qualname)
                if q == "typing.TypedDict":
                    kind = "typeddict"
                elif q in ("pydantic.BaseModel", "pydantic.main.BaseModel"):
                    kind = "model"
                elif q in ENUM_BASES:
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
        key = instance_key(target.key, bound) if params else target.key
        if key in self.named or key in self._in_progress:
            return RefType(ref=key)
        self._in_progress.add(key)
        self.display[key] = instance_display(cls.name, bound, self.display) if params else cls.name
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
            member = enum_member(cls, f.name, auto_kind, index=i)
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
        for base, t in self._bases(target, cls):
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
        if kind in ("typeddict", "dataclass"):
            extra = self._with_config(cls, ctx).get("extra", extra)
        if kind in ("model", "dataclass"):
            self._refuse_hooks(cls, ctx)
        generator = self._alias_generators.get(target.key)
        if kind == "model":
            for _, t in self._bases(target, cls):
                if isinstance(t, ProjectDef) and t.key in self._alias_generators:
                    generator = self._alias_generators[t.key]
            for key, value in cls.keywords:
                if key not in ("total", "closed", "extra", "metaclass"):
                    self._config_key(key, value, ctx)
        for f in cls.fields:
            if kind == "model" and f.name == "model_config":
                config = self._model_config(f, ctx)
                extra = config.get("extra", extra)
                generator = config.get("alias_generator", generator)
                continue
            if f.annotation is None:
                continue
            if f.name.startswith("_") and kind != "typeddict":
                continue
            prop = self._property(f, kind, total, ctx, generator)
            if prop is None:
                continue
            previous = props.get(prop.name)
            if (
                kind == "typeddict"
                and previous is not None
                and prop.name in owners  # a field written twice in one class: the last wins, as at run time
                and compact_json(wire(previous.type)) != compact_json(wire(prop.type))
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
        if generator is not None:
            self._alias_generators[target.key] = generator
        origin_kind = {"typeddict": "typeddict", "dataclass": "dataclass", "model": "model"}[kind]
        return ObjectType(
            name=cls.name,
            properties=tuple(props.values()),
            extra=extra,
            origin=Origin(module=target.module, qualname=cls.name, kind=origin_kind),
            description=cls.docstring,
        )

    def _property(
        self, f: FieldFact, kind: str, total: bool, ctx: Ctx, generator: str | None = None
    ) -> Property | None:
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
        if alias is None and generator is not None:
            alias = ALIAS_GENERATORS[generator](f.name)
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
            # `FieldInfo(...)` is what `Field(...)` returns, and SDK generators write it directly
            if q in ("pydantic.Field", "pydantic.fields.Field", "pydantic.fields.FieldInfo", "dataclasses.field"):
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
                    elif key in CONSTRAINT_KEYS:
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


def describe(expr: Expr) -> str:
    match expr:
        case ExName(name=n):
            return n
        case ExConst(value=v):
            return repr(v)
        case ExSub(base=b, args=args):
            return f"{describe(b)}[{', '.join(describe(a) for a in args)}]"
        case ExOr(items=items):
            return " | ".join(describe(i) for i in items)
        case ExList(items=items):
            return f"[{', '.join(describe(i) for i in items)}]"
        case ExCall(func=f):
            return f"{describe(f)}(...)"
        case ExBad(text=t):
            return t


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
                member = enum_member(target.owner.fact, target.name, _auto_kind(project, target.owner))
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


def enum_member(cls: ClassFact, name: str, auto_kind: str, index: int | None = None) -> EnumMember | None:
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
