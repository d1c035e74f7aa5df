"""Emit the `.gati/validators/` package: generated decoders and encoders for every GType.

Input: the named GTypes, the handlers and an optional class map. Output: `{relative path: bytes}`
under `validators/`. Code is generated per type by `_valgen`, the module skeleton is the
`validators/__init__.py.j2` template; nothing here reads or writes files.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from gati_compiler.emit._valgen import ClassTarget, ModuleState, drain
from gati_compiler.emit.render import make_environment, py_ident, py_str
from gati_compiler.ir.gtype import (
    ArrayType,
    EnumType,
    GType,
    LiteralType,
    ObjectType,
    PrimitiveType,
    RefType,
    UnionType,
)
from gati_compiler.ir.jsonschema import FORMAT_PATTERNS, ISO_PATTERNS
from gati_compiler.ir.models import Handler

__all__ = ["ClassTarget", "ValidatorsView", "build_validators_view", "emit_validators"]

TEMPLATE: Final = "validators/__init__.py.j2"
_EXTRA_PATTERNS: Final = {
    "int-key": "^-?(?:0|[1-9][0-9]*)$",
    "query-int": "^[+-]?[0-9]+$",
    **ISO_PATTERNS,  # the decoders parse the ISO forms of the date-time and duration formats themselves
}


@dataclass(frozen=True)
class ValidatorsView:
    """What the template lays out; code pieces are ready-made, formatted Python source."""

    header: str
    formats: tuple[tuple[str, str], ...]
    imports: tuple[tuple[str, str], ...]
    early: tuple[str, ...]
    functions: tuple[str, ...]
    late: tuple[str, ...]
    decoders: tuple[str, ...]
    encoders: tuple[str, ...]
    handlers: tuple[str, ...]


def emit_validators(
    gtypes: Mapping[str, GType],
    handlers: Sequence[Handler],
    *,
    header: str,
    class_map: Mapping[str, ClassTarget] | None = None,
    encoders: bool = True,
    refs: Collection[str] | None = None,
    encoder_refs: Collection[str] | None = None,
) -> dict[str, bytes]:
    """Generate the validators package.

    Parameters:
        gtypes: every named type, by ref.
        handlers: the handlers whose request parts and responses get a `HANDLERS` codec.
        header: the one-line provenance text put in a comment at the top of each file.
        class_map: per ref, the class to build instead of the GType's `origin` (used by the SDK).
        encoders: also generate encoders (`encode`, `HandlerCodec.encode_response`); a client that
            only checks what it receives leaves them out and gets a module half the size.
        refs: the named types `decode` offers (default: all); the handlers' codecs and what
            they reach are generated either way.
        encoder_refs: the named types `encode` offers (default: the same as `refs`).

    Returns:
        Relative paths (under `validators/`) to file contents.
    """
    view = build_validators_view(
        gtypes,
        handlers,
        header=header,
        class_map=class_map,
        encoders=encoders,
        refs=refs,
        encoder_refs=encoder_refs,
    )
    text = make_environment().get_template(TEMPLATE).render(view=view, **view.__dict__)
    return {"validators/__init__.py": text.encode("utf-8")}


def build_validators_view(
    gtypes: Mapping[str, GType],
    handlers: Sequence[Handler],
    *,
    header: str,
    class_map: Mapping[str, ClassTarget] | None = None,
    encoders: bool = True,
    refs: Collection[str] | None = None,
    encoder_refs: Collection[str] | None = None,
) -> ValidatorsView:
    """Generate every function and table; the template only lays them out."""
    state = ModuleState(gtypes=gtypes, class_map=class_map or {})
    decoders: list[str] = []
    encoder_entries: list[str] = []
    for ref in sorted(gtypes if refs is None else set(refs) & set(gtypes)):
        decoders.append(_entry(ref, state.functions_for(RefType(ref=ref), "dec")))
        if encoders and (encoder_refs is None or ref in encoder_refs):
            encoder_entries.append(_entry(ref, state.functions_for(RefType(ref=ref), "enc")))
    entries: list[str] = []
    for handler in sorted(handlers, key=lambda h: h.handlerId):
        parts = handler.gtypes
        args = [
            "body=" + _codec(state, parts.request, "dec"),
            "query=" + _codec(state, parts.query, "dec"),
            "params=" + _codec(state, parts.params, "dec"),
            "response=" + (_codec(state, parts.response, "enc") if encoders else "None"),
            "query_table=" + _coercions(state, parts.query),
            "params_table=" + _coercions(state, parts.params),
        ]
        body = "".join(f"        {arg},\n" for arg in args)
        entries.append(f"    {py_str(handler.handlerId)}: HandlerCodec(\n{body}    ),")
    drain(state)
    formats = {**FORMAT_PATTERNS, **_EXTRA_PATTERNS}
    return ValidatorsView(
        header=header,
        formats=tuple(("_RE_" + py_ident(name).upper(), formats[name]) for name in sorted(formats)),
        imports=tuple(sorted(state.imports.items())),
        early=tuple(state.early),
        functions=tuple(state.functions),
        late=tuple(state.late),
        decoders=tuple(decoders),
        encoders=tuple(encoder_entries),
        handlers=tuple(entries),
    )


def _entry(ref: str, names: tuple[str, str]) -> str:
    flat = f"    {py_str(ref)}: ({names[0]}, {names[1]}),"
    if len(flat) <= 88:
        return flat
    return f"    {py_str(ref)}: (\n        {names[0]},\n        {names[1]},\n    ),"


def _codec(state: ModuleState, gtype: GType | None, direction: str) -> str:
    if gtype is None:
        return "None"
    fast, slow = state.functions_for(gtype, "dec" if direction == "dec" else "enc")
    return f"({fast}, {slow})"


def _coercions(state: ModuleState, gtype: GType | None) -> str:
    """Per property, how a query-string value (str or list of str) is turned into JSON-like data."""
    if gtype is None:
        return "{}"
    target = state.deref(gtype)
    if not isinstance(target, ObjectType) or not target.properties:
        return "{}"
    entries = "".join(f"            {py_str(p.name)}: {_coercer(state, p.type)},\n" for p in target.properties)
    return "{\n" + entries + "        }"


def _coercer(state: ModuleState, gtype: GType) -> str:
    target = state.deref(gtype)
    if isinstance(target, ArrayType):
        return f"_q_list({_coercer(state, target.items)})"
    if isinstance(target, UnionType):
        kinds = [_coercer(state, o) for o in target.options]
        useful = [k for k in kinds if k not in ("_q_str", "_q_null")]
        if len(set(useful)) == 1:
            return useful[0]
        return "_q_str"
    if isinstance(target, PrimitiveType):
        if target.format == "decimal":
            return "_q_str"
        return {"integer": "_q_int", "number": "_q_float", "boolean": "_q_bool", "null": "_q_null"}.get(
            target.type, "_q_str"
        )
    values: list[object] = []
    if isinstance(target, LiteralType):
        values = list(target.values)
    elif isinstance(target, EnumType):
        values = [m.value for m in target.members]
    if values and all(type(v) is int for v in values):
        return "_q_int"
    if values and all(type(v) is bool for v in values):
        return "_q_bool"
    return "_q_str"
