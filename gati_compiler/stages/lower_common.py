"""What both halves of annotation lowering share: names, the lowering context, field info and
the lowerer's state (`LowererBase`). `lower_types` lowers expressions, `lower_classes` the
classes and aliases they name; `TypeLowerer` joins them.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Final

from pydantic import JsonValue, alias_generators

from gati_compiler.canonical import compact_json
from gati_compiler.diagnostics import codes
from gati_compiler.ir.gtype import AnyType, ArrayType, GType, MapType, PrimitiveType, RefType, UnionType
from gati_compiler.stages.facts import Anchor, Expr
from gati_compiler.stages.report import Reporter
from gati_compiler.stages.resolve import ResolvedProject

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

SCALARS: Final[dict[str, PrimitiveType | AnyType]] = {
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
    # gati's decoders are strict already: pydantic's strict scalars are the plain ones
    "pydantic.StrictStr": PrimitiveType(type="string"),
    "pydantic.StrictInt": PrimitiveType(type="integer"),
    "pydantic.StrictFloat": PrimitiveType(type="number"),
    "pydantic.StrictBool": PrimitiveType(type="boolean"),
    "pydantic.StrictBytes": PrimitiveType(type="string", format="bytes"),
    "pydantic.PositiveInt": PrimitiveType(type="integer", exclusiveMinimum=0),
    "pydantic.NegativeInt": PrimitiveType(type="integer", exclusiveMaximum=0),
    "pydantic.NonNegativeInt": PrimitiveType(type="integer", minimum=0),
    "pydantic.NonPositiveInt": PrimitiveType(type="integer", maximum=0),
    "pydantic.PositiveFloat": PrimitiveType(type="number", exclusiveMinimum=0),
    "pydantic.NegativeFloat": PrimitiveType(type="number", exclusiveMaximum=0),
    "pydantic.NonNegativeFloat": PrimitiveType(type="number", minimum=0),
    "pydantic.NonPositiveFloat": PrimitiveType(type="number", maximum=0),
}

# scalars pydantic builds only with an optional package: qualname → (import name, distribution)
NEEDS_PACKAGE: Final[dict[str, tuple[str, str]]] = {
    "pydantic.EmailStr": ("email_validator", "email-validator"),
    "pydantic.NameEmail": ("email_validator", "email-validator"),
}


@cache
def package_installed(name: str) -> bool:
    """Whether `name` can be imported where gati runs (looked up, never imported)."""
    return importlib.util.find_spec(name) is not None


SEQUENCES: Final[dict[str, str]] = {
    "builtins.list": "list",
    "typing.Sequence": "sequence",
    "builtins.set": "set",
    "typing.Set": "set",
    "builtins.frozenset": "frozenset",
}
MAPPINGS: Final = frozenset({"builtins.dict", "typing.Mapping"})
FIELD_WRAPPERS: Final = frozenset({"typing.Required", "typing.NotRequired", "typing.ReadOnly"})
ENUM_BASES: Final = frozenset({"enum.Enum", "enum.StrEnum", "enum.IntEnum", "enum.Flag", "enum.IntFlag"})
STDLIB_ROOTS: Final = frozenset(
    {"builtins", "typing", "collections", "datetime", "uuid", "decimal", "enum", "dataclasses", "pathlib", "ipaddress"}
)
KNOWN_FRAMEWORKS: Final = frozenset({"pydantic", "annotated_types", "gati_runtime_min", "typing_extensions"})
CONSTRAINT_KEYS: Final[dict[str, str]] = {
    "gt": "exclusiveMinimum",
    "ge": "minimum",
    "lt": "exclusiveMaximum",
    "le": "maximum",
    "multiple_of": "multipleOf",
    "min_length": "min",
    "max_length": "max",
    "pattern": "pattern",
}
ANNOTATED_TYPES: Final[dict[str, tuple[str, ...]]] = {
    "Gt": ("gt",),
    "Ge": ("ge",),
    "Lt": ("lt",),
    "Le": ("le",),
    "MultipleOf": ("multiple_of",),
    "MinLen": ("min_length",),
    "MaxLen": ("max_length",),
    "Len": ("min_length", "max_length"),
}
# pydantic's standard alias generators, applied at build time (the compiler runs the same functions)
ALIAS_GENERATORS: Final[dict[str, Callable[[str], str]]] = {
    "to_camel": alias_generators.to_camel,
    "to_pascal": alias_generators.to_pascal,
    "to_snake": alias_generators.to_snake,
}
# pydantic decorators that run user code on validation or serialisation → what would skip it
PYDANTIC_HOOKS: Final[dict[str, str]] = {
    "field_validator": "decoders",
    "model_validator": "decoders",
    "validator": "decoders",
    "root_validator": "decoders",
    "field_serializer": "encoders",
    "model_serializer": "encoders",
    "computed_field": "encoders",
}
# `ConfigDict` keys that change neither what a request may hold nor what a handler receives
CONFIG_INERT: Final = frozenset(
    {
        "title",
        "json_schema_extra",
        "json_schema_mode_override",
        "frozen",
        "strict",  # gati's decoders are strict JSON already; a lax model is still checked strictly
        "arbitrary_types_allowed",
        "from_attributes",
        "validate_assignment",
        "revalidate_instances",
        "protected_namespaces",
        "defer_build",
        "hide_input_in_errors",
        "use_attribute_docstrings",
        "cache_strings",
        "loc_by_alias",
        "plugin_settings",
        "regex_engine",
        "coerce_numbers_to_str",  # lax mode only
        "validation_error_cause",
        "ignored_types",
        "experimental_warnings",
    }
)
# keys that are harmless at their default value only
CONFIG_DEFAULTS: Final[dict[str, object]] = {
    "populate_by_name": False,
    "validate_by_name": False,
    "validate_by_alias": True,
    "str_strip_whitespace": False,
    "str_to_lower": False,
    "str_to_upper": False,
    "use_enum_values": False,
    "validate_default": False,
    "serialize_by_alias": False,
    "allow_inf_nan": True,
    "val_json_bytes": "utf8",
    "ser_json_bytes": "utf8",
    "ser_json_timedelta": "iso8601",
    "ser_json_inf_nan": "null",
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
    elif qualname.startswith("pydantic.types."):
        qualname = "pydantic." + qualname.removeprefix("pydantic.types.")
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


class LowererBase:
    """The state of one project's lowering and the steps both halves call."""

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
        self._alias_generators: dict[str, str] = {}  # model key → its (possibly inherited) alias generator

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

    # implemented by `TypeLowerer` (lower_types.py)
    def _lower(self, expr: Expr, ctx: Ctx) -> GType:
        raise NotImplementedError

    def field_info(self, expr: Expr, ctx: Ctx) -> FieldInfo:
        raise NotImplementedError

    def _constrain(self, gtype: GType, key: str, value: Expr, ctx: Ctx) -> GType:
        raise NotImplementedError


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


def _arg_key(g: GType) -> str:
    return compact_json(g.model_dump(mode="json", exclude_none=True))


def instance_key(base: str, args: list[GType]) -> str:
    return f"{base}[{','.join(_arg_key(a) for a in args)}]"


def instance_display(name: str, args: list[GType], display: Mapping[str, str]) -> str:
    return "_".join([name, *(display_of(a, display) for a in args)])


def wire(g: GType) -> JsonValue:
    return g.model_dump(mode="json", exclude_none=True, exclude={"description"})


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
