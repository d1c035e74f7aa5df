"""GTypes as Python annotations, and the view of the SDK's `models.py`.

Input: `Program.gtypes`. Output: `ModelsView` (a frozen model) and annotation strings. Every naming,
ordering and quoting decision for `models.py` is made here; the template only loops.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Mapping
from typing import Final, Literal, assert_never

from pydantic import BaseModel, ConfigDict

from gati_compiler.emit import _sdk_names as names
from gati_compiler.emit._sdk_common import resolve
from gati_compiler.emit.render import py_str
from gati_compiler.ir.gtype import (
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

# modules `models.py` and `client.py` import whole, and builtins annotations use
MODELS_RESERVED: Final = frozenset({"typing", "datetime", "uuid", "decimal", "enum", "annotations"}) | frozenset(
    name for name in dir(builtins) if not name.startswith("_")
)

_FORMATS: Final[Mapping[str, str]] = {
    "date-time": "datetime.datetime",
    "date": "datetime.date",
    "time": "datetime.time",
    "duration": "datetime.timedelta",
    "uuid": "uuid.UUID",
    "decimal": "decimal.Decimal",
    "bytes": "bytes",
}
_PRIMITIVES: Final[Mapping[str, str]] = {
    "string": "str",
    "integer": "int",
    "number": "float",
    "boolean": "bool",
    "null": "None",
}
_CONTAINERS: Final[Mapping[str, str]] = {
    "list": "list[{}]",
    "sequence": "list[{}]",
    "set": "set[{}]",
    "frozenset": "frozenset[{}]",
    "tuple": "tuple[{}, ...]",
}


def py_scalar(value: Scalar) -> str:
    if isinstance(value, str):
        return py_str(value)
    return repr(value)


def py_docstring(text: str | None) -> str | None:
    """A one-line docstring body safe inside triple double quotes, or None."""
    if not text or not text.strip():
        return None
    line = text.strip().splitlines()[0].strip().replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    return line.rstrip('"') or None


_IMPORTABLE: Final = ("datetime", "decimal", "enum", "typing", "uuid")
_IMPORTED: Final = re.compile(r"\b(" + "|".join(_IMPORTABLE) + r")\.")


def annotation_imports(annotations: list[str], *, always: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The stdlib modules the annotations name (`datetime.date` needs `datetime`), sorted."""
    found = set(always)
    for text in annotations:
        found.update(_IMPORTED.findall(text))
    return tuple(sorted(found))


class PyTypes:
    """Renders GTypes as annotations; `prefix` qualifies model names (`"models."` outside `models.py`).

    `wire`: the JSON form instead of the decoded one (Timescape's per-version types): formatted
    strings (dates, uuids, decimals, bytes) stay `str`, every array is a `list`, map keys are `str`.
    """

    def __init__(
        self, class_names: Mapping[str, str], gtypes: Mapping[str, GType], prefix: str = "", *, wire: bool = False
    ) -> None:
        self._names = class_names
        self._gtypes = gtypes
        self._prefix = prefix
        self._wire = wire

    def render(self, gtype: GType) -> str:
        if self._wire:
            wire = self._wire_form(gtype)
            if wire is not None:
                return wire
        match gtype:
            case PrimitiveType():
                if gtype.format is not None and gtype.format in _FORMATS and gtype.type != "null":
                    return _FORMATS[gtype.format]
                return _PRIMITIVES[gtype.type]
            case LiteralType():
                return self._literal(gtype.values)
            case EnumType():
                return self._literal(tuple(m.value for m in gtype.members))
            case ObjectType():
                return "dict[str, typing.Any]"
            case ArrayType():
                return _CONTAINERS[gtype.container].format(self.render(gtype.items))
            case TupleType():
                return "tuple[{}]".format(", ".join(self.render(t) for t in gtype.items) or "()")
            case MapType():
                return f"dict[{self.render(gtype.keys)}, {self.render(gtype.values)}]"
            case UnionType():
                return self._union([self.render(o) for o in gtype.options])
            case IntersectionType():
                parts = [resolve(p, self._gtypes) for p in gtype.parts]
                return "dict[str, typing.Any]" if all(isinstance(p, ObjectType) for p in parts) else "typing.Any"
            case RefType():
                name = self._names.get(gtype.ref)
                return self._prefix + name if name is not None else "typing.Any"
            case AnyType():
                return "typing.Any"
            case _:
                assert_never(gtype)

    def _wire_form(self, gtype: GType) -> str | None:
        """The annotations that differ in wire form; None where the decoded form is the same."""
        match gtype:
            case PrimitiveType() if gtype.format in _FORMATS and gtype.type != "null":
                return "str"
            case ArrayType():
                return f"list[{self.render(gtype.items)}]"
            case TupleType():
                items = self._union([self.render(t) for t in gtype.items])
                return f"list[{items or 'typing.Any'}]"
            case MapType():
                return f"dict[str, {self.render(gtype.values)}]"
            case _:
                return None

    def _literal(self, values: tuple[Scalar, ...]) -> str:
        # floats cannot appear in `Literal[...]`; they widen to `float`
        exact = [py_scalar(v) for v in values if not isinstance(v, float)]
        options = [f"typing.Literal[{', '.join(exact)}]"] if exact else []
        if any(isinstance(v, float) for v in values):
            options.append("float")
        return self._union(options) if options else "typing.Never"

    @staticmethod
    def _union(options: list[str]) -> str:
        flat: list[str] = []
        for opt in options:
            if opt not in flat:
                flat.append(opt)
        if "typing.Any" in flat:
            return "typing.Any"
        # None last reads naturally: `int | None`
        flat.sort(key=lambda o: o == "None")
        return " | ".join(flat)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FieldView(_Frozen):
    key: str  # the wire name, as a Python string literal in functional form
    name: str  # the wire name as an identifier (class form only)
    annotation: str
    annotation_literal: str  # the annotation as a string literal, for the functional form
    doc: str | None = None  # the field's description: an attribute docstring (a comment in functional form)


class TypedDictView(_Frozen):
    name: str
    ref: str
    doc: str | None
    functional: bool  # some key is not an identifier: `Name = typing.TypedDict("Name", {...})`
    name_literal: str
    fields: tuple[FieldView, ...]


class MemberView(_Frozen):
    name: str
    value: str


class EnumView(_Frozen):
    name: str
    ref: str
    doc: str | None
    base: str
    members: tuple[MemberView, ...]


class AliasView(_Frozen):
    name: str
    ref: str
    value: str


class ModelsView(_Frozen):
    header: str
    enums: tuple[EnumView, ...]
    typed_dicts: tuple[TypedDictView, ...]
    aliases: tuple[AliasView, ...]
    exports: tuple[str, ...]  # `__all__`, sorted
    imports: tuple[str, ...]

    def class_kinds(self) -> dict[str, tuple[str, Literal["typeddict", "enum"]]]:
        """ref -> (class name, kind) for the decoders' class map."""
        out: dict[str, tuple[str, Literal["typeddict", "enum"]]] = {
            td.ref: (td.name, "typeddict") for td in self.typed_dicts
        }
        out.update({e.ref: (e.name, "enum") for e in self.enums})
        return dict(sorted(out.items()))


def class_names(gtypes: Mapping[str, GType]) -> Mapping[str, str]:
    return names.type_name_map(gtypes, reserved=MODELS_RESERVED)


def _enum_view(name: str, ref: str, gtype: EnumType) -> EnumView:
    values = [m.value for m in gtype.members]
    if values and all(isinstance(v, str) for v in values):
        base = "enum.StrEnum"
    elif values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        base = "enum.IntEnum"
    else:
        base = "enum.Enum"
    taken: set[str] = {"name", "value", "mro"}
    members = []
    for member in gtype.members:
        ident = names.py_identifier(member.name)
        if ident.startswith("_"):
            ident = "M" + ident
        members.append(MemberView(name=names.unique(ident, taken), value=py_scalar(member.value)))
    return EnumView(name=name, ref=ref, doc=py_docstring(gtype.description), base=base, members=tuple(members))


def _typed_dict_view(name: str, ref: str, gtype: ObjectType, types: PyTypes) -> TypedDictView:
    fields = []
    for prop in gtype.properties:
        annotation = types.render(prop.type)
        if not prop.required:
            annotation = f"typing.NotRequired[{annotation}]"
        fields.append(
            FieldView(
                key=py_str(prop.name),
                name=prop.name,
                annotation=annotation,
                annotation_literal=py_str(annotation),
                doc=py_docstring(prop.description),
            )
        )
    functional = any(not names.is_py_identifier(p.name) for p in gtype.properties)
    return TypedDictView(
        name=name,
        ref=ref,
        doc=py_docstring(gtype.description),
        functional=functional,
        name_literal=py_str(name),
        fields=tuple(fields),
    )


def _alias_order(aliases: Mapping[str, GType], names_of: Mapping[str, str]) -> tuple[list[str], set[str]]:
    """Aliases in definition order (dependencies first) and the set that refer forward (cycles)."""
    order: list[str] = []
    state: dict[str, int] = {}
    forward: set[str] = set()

    def refs_in(gtype: GType) -> list[str]:
        found: list[str] = []
        stack: list[GType] = [gtype]
        while stack:
            node = stack.pop()
            match node:
                case RefType():
                    found.append(node.ref)
                case ArrayType():
                    stack.append(node.items)
                case MapType():
                    stack.extend((node.keys, node.values))
                case TupleType() | UnionType():
                    stack.extend(node.items if isinstance(node, TupleType) else node.options)
                case _:
                    pass
        return sorted(set(found))

    def visit(ref: str) -> None:
        state[ref] = 1
        for dep in refs_in(aliases[ref]):
            if dep not in aliases:
                continue
            if state.get(dep) == 1:
                forward.add(ref)
            elif dep not in state:
                visit(dep)
        state[ref] = 2
        order.append(ref)

    for ref in sorted(aliases):
        if ref not in state:
            visit(ref)
    return order, forward


def build_models_view(gtypes: Mapping[str, GType], *, header: str, wire: bool = False) -> ModelsView:
    """Mirror every named GType: objects as TypedDicts, enums as enum classes, the rest as type aliases.

    `wire`: in JSON form (`PyTypes(wire=True)`), enums as `Literal[...]` aliases of their values.
    """
    names_of = class_names(gtypes)
    types = PyTypes(names_of, gtypes, wire=wire)
    enums: list[EnumView] = []
    typed_dicts: list[TypedDictView] = []
    alias_types: dict[str, GType] = {}
    for ref, gtype in sorted(gtypes.items()):
        if isinstance(gtype, EnumType) and not wire:
            enums.append(_enum_view(names_of[ref], ref, gtype))
        elif isinstance(gtype, ObjectType):
            typed_dicts.append(_typed_dict_view(names_of[ref], ref, gtype, types))
        else:
            alias_types[ref] = gtype
    order, forward = _alias_order(alias_types, names_of)
    aliases = []
    for ref in order:
        value = types.render(alias_types[ref])
        aliases.append(AliasView(name=names_of[ref], ref=ref, value=py_str(value) if ref in forward else value))
    return ModelsView(
        header=header,
        enums=tuple(sorted(enums, key=lambda e: e.name)),
        typed_dicts=tuple(sorted(typed_dicts, key=lambda t: t.name)),
        aliases=tuple(aliases),
        exports=tuple(sorted(names_of.values())),
        imports=annotation_imports(
            [f.annotation for td in typed_dicts for f in td.fields] + [a.value for a in aliases],
            always=(("typing",) if typed_dicts else ()) + (("enum",) if enums else ()),
        ),
    )
