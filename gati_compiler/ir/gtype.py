"""GType: the JSON description of a type that every artifact is generated from.

Input: nothing (data module). Output: frozen pydantic models, one per GType kind, joined in the
discriminated union `GType`. Field names are the JSON keys of `gtypes.json` (camelCase on purpose).
This module must not know about Python source; `stages/lower.py` builds these values.
"""

from __future__ import annotations

from typing import Annotated, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, JsonValue

Scalar: TypeAlias = str | int | float | bool | None


class _Node(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    description: str | None = None


class Origin(BaseModel):
    """Where a named type comes from in the user's project, so decoders can build the declared type."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    module: str
    qualname: str
    kind: Literal["typeddict", "dataclass", "model", "enum", "alias"]


class PrimitiveType(_Node):
    kind: Literal["primitive"] = "primitive"
    type: Literal["string", "integer", "number", "boolean", "null"]
    # date-time, date, time, duration, uuid, decimal, bytes (base64)
    format: str | None = None
    minLength: int | None = None
    maxLength: int | None = None
    pattern: str | None = None
    minimum: int | float | None = None
    exclusiveMinimum: int | float | None = None
    maximum: int | float | None = None
    exclusiveMaximum: int | float | None = None
    multipleOf: int | float | None = None


class LiteralType(_Node):
    kind: Literal["literal"] = "literal"
    values: tuple[Scalar, ...]


class EnumMember(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    value: str | int | float | bool


class EnumType(_Node):
    kind: Literal["enum"] = "enum"
    name: str
    members: tuple[EnumMember, ...]
    origin: Origin | None = None


class Property(BaseModel):
    """One object property. `name` is the wire (JSON) name; `pyName` the attribute when it differs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    type: GType
    required: bool
    description: str | None = None
    hasDefault: bool = False
    default: JsonValue = None
    pyName: str | None = None
    readOnly: bool = False


class ObjectType(_Node):
    kind: Literal["object"] = "object"
    name: str | None = None
    properties: tuple[Property, ...] = ()
    # what happens to keys that are not declared: dropped (default), rejected, or kept
    extra: Literal["ignore", "forbid", "allow"] = "ignore"
    origin: Origin | None = None


class ArrayType(_Node):
    kind: Literal["array"] = "array"
    items: GType
    container: Literal["list", "set", "frozenset", "sequence", "tuple"] = "list"
    minItems: int | None = None
    maxItems: int | None = None
    uniqueItems: bool = False


class TupleType(_Node):
    kind: Literal["tuple"] = "tuple"
    items: tuple[GType, ...]


class MapType(_Node):
    kind: Literal["map"] = "map"
    keys: GType
    values: GType
    minProperties: int | None = None
    maxProperties: int | None = None


class UnionType(_Node):
    kind: Literal["union"] = "union"
    options: tuple[GType, ...]
    discriminator: str | None = None


class IntersectionType(_Node):
    kind: Literal["intersection"] = "intersection"
    parts: tuple[GType, ...]


class RefType(_Node):
    kind: Literal["ref"] = "ref"
    ref: str


class AnyType(_Node):
    kind: Literal["any"] = "any"


GType: TypeAlias = Annotated[
    PrimitiveType
    | LiteralType
    | EnumType
    | ObjectType
    | ArrayType
    | TupleType
    | MapType
    | UnionType
    | IntersectionType
    | RefType
    | AnyType,
    Field(discriminator="kind"),
]

Property.model_rebuild()
ArrayType.model_rebuild()
TupleType.model_rebuild()
MapType.model_rebuild()
UnionType.model_rebuild()
IntersectionType.model_rebuild()

NULL: PrimitiveType = PrimitiveType(type="null")
