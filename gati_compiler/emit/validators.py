"""Emit the `.gati/validators/` package: generated decoders and encoders for every GType.

Input: the named GTypes, the handlers and an optional class map. Output: `{relative path: bytes}`
under `validators/`. Code is generated per type by `_valgen`, the module skeleton is the
`validators/__init__.py.j2` template; nothing here reads or writes files.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from gati_compiler.emit._valbase import Direction
from gati_compiler.emit._valgen import ClassTarget, ModuleState, drain
from gati_compiler.emit._valshared import RUNTIME_MARK, STDLIB_MARK, link_runtime
from gati_compiler.emit.render import make_environment, py_ident, py_str
from gati_compiler.ir.canonical import children
from gati_compiler.ir.gtype import (
    AnyType,
    ArrayType,
    EnumType,
    GType,
    LiteralType,
    ObjectType,
    PrimitiveType,
    Property,
    RefType,
    UnionType,
)
from gati_compiler.ir.jsonschema import FORMAT_PATTERNS, ISO_PATTERNS
from gati_compiler.ir.models import Handler, ModuleDecl, ModuleMethod

__all__ = [
    "ClassTarget",
    "ValidatorsPart",
    "ValidatorsView",
    "build_validators_part",
    "build_validators_view",
    "emit_validators",
    "module_aliases",
    "render_validators",
]

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
    # `RESPONSES` entries (handler id -> a check of its success body in JSON form), when asked
    responses: tuple[str, ...] | None = None
    # `MODULES` entries (module id -> {method -> ModuleCodec}), when the build has the modules
    modules: tuple[str, ...] | None = None
    # `TOPIC_CHECKS` / `TOPIC_DECODERS` entries (topic name -> its message type's encoder / decoder)
    topic_checks: tuple[str, ...] = ()
    topic_decoders: tuple[str, ...] = ()


def emit_validators(
    gtypes: Mapping[str, GType],
    handlers: Sequence[Handler],
    *,
    header: str,
    class_map: Mapping[str, ClassTarget] | None = None,
    encoders: bool = True,
    refs: Collection[str] | None = None,
    encoder_refs: Collection[str] | None = None,
    runtime_from: str | None = None,
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
        runtime_from: import the validators runtime from this module (another validators
            package of the same output) instead of carrying a copy of it (`_valshared.py`).

    Returns:
        Relative paths (under `validators/`) to file contents.
    """
    aliases = module_aliases(gtypes, class_map)
    decoders = build_validators_part(gtypes, handlers, "dec", class_map=class_map, refs=refs, aliases=aliases)
    encoding = None
    if encoders:
        wanted = refs if encoder_refs is None else encoder_refs
        encoding = build_validators_part(gtypes, handlers, "enc", class_map=class_map, refs=wanted, aliases=aliases)
    return render_validators(
        gtypes, handlers, header=header, decoders=decoders, encoders=encoding, runtime_from=runtime_from
    )


@dataclass(frozen=True)
class ValidatorsPart:
    """One direction's share of the module (all decoders, or all encoders), generated on its own.

    The two parts share nothing but the module aliases (fixed in advance by `module_aliases`);
    encoder constants carry a suffix, so a build can generate them in two processes and join them.
    """

    direction: Direction
    imports: tuple[tuple[str, str], ...]
    early: tuple[str, ...]
    functions: tuple[str, ...]
    late: tuple[str, ...]
    # `_DECODERS` or `_ENCODERS` entries
    entries: tuple[str, ...]
    # per handler, sorted by id: its codecs in this direction (body, query, params; or response)
    codecs: tuple[tuple[str, ...], ...]
    # decoders only, when asked: per handler, sorted by id, the decoder of its response body
    responses: tuple[str, ...] | None = None
    # per module method, modules by id and methods in declared order: (module id, method,
    # codec of the arguments as an object by name, codec of the result); None: no `MODULES`
    module_codecs: tuple[tuple[str, str, str, str], ...] | None = None
    # per typed topic (name, codec in this direction), sorted by name
    topics: tuple[tuple[str, str], ...] = ()


def build_validators_part(
    gtypes: Mapping[str, GType],
    handlers: Sequence[Handler],
    direction: Direction,
    *,
    aliases: Mapping[str, str],
    class_map: Mapping[str, ClassTarget] | None = None,
    refs: Collection[str] | None = None,
    responses: bool = False,
    modules: Sequence[ModuleDecl] | None = None,
    topics: Sequence[tuple[str, GType]] = (),
) -> ValidatorsPart:
    """Generate every function of one direction, for the named types in `refs` (default: all)
    and for the handlers' request parts (decoders) or responses (encoders). `responses`: also
    a decoder of each handler's response body (the module's `RESPONSES`; decoders only).
    `modules`: also the codecs of the arguments and result of every method of the out-of-process
    modules among them (`MODULES`; an in-process module is called with Python values)."""
    state = ModuleState(
        gtypes=gtypes, class_map=class_map or {}, aliases=aliases, tag="" if direction == "dec" else "e"
    )
    entries = [
        _entry(ref, state.functions_for(RefType(ref=ref), direction))
        for ref in sorted(gtypes if refs is None else set(refs) & set(gtypes))
    ]
    codecs: list[tuple[str, ...]] = []
    checks: list[str] = []
    for handler in sorted(handlers, key=lambda h: h.handlerId):
        parts = handler.gtypes
        if direction == "dec":
            codecs.append(tuple(_codec(state, g, "dec") for g in (parts.request, parts.query, parts.params)))
            if responses:
                checks.append(_codec(state, parts.response or AnyType(), "dec"))
        else:
            codecs.append((_codec(state, parts.response, "enc"),))
    drain(state)  # the handlers' functions first, so adding modules does not rename them
    module_codecs: list[tuple[str, str, str, str]] = []
    for module in sorted((m for m in modules or () if m.runtime == "process"), key=lambda m: m.moduleId):
        for method in module.methods:
            module_codecs.append(
                (
                    module.moduleId,
                    method.name,
                    _codec(state, module_params_type(method), direction),
                    _codec(state, method.returns, direction),
                )
            )
    drain(state)  # then the topics' (a build without topics keeps every name)
    topic_codecs = tuple((name, _codec(state, g, direction)) for name, g in sorted(topics, key=lambda t: t[0]))
    drain(state)
    return ValidatorsPart(
        direction=direction,
        imports=tuple(sorted(state.imports.items())),
        early=tuple(state.early),
        functions=tuple(state.functions),
        late=tuple(state.late),
        entries=tuple(entries),
        codecs=tuple(codecs),
        responses=tuple(checks) if responses and direction == "dec" else None,
        module_codecs=None if modules is None else tuple(module_codecs),
        topics=topic_codecs,
    )


def module_params_type(method: ModuleMethod) -> ObjectType:
    """The arguments of a module method as one object, by parameter name: required unless the
    parameter has a default; unknown names are rejected."""
    optional = set(method.optional)
    return ObjectType(
        properties=tuple(Property(name=name, type=g, required=name not in optional) for name, g in method.params),
        extra="forbid",
    )


def render_validators(
    gtypes: Mapping[str, GType],
    handlers: Sequence[Handler],
    *,
    header: str,
    decoders: ValidatorsPart,
    encoders: ValidatorsPart | None,
    runtime_from: str | None = None,
) -> dict[str, bytes]:
    """Join the parts into `validators/__init__.py` (the `validators/__init__.py.j2` template);
    with `runtime_from`, the runtime is imported from there (`_valshared.link_runtime`)."""
    view = build_validators_view(gtypes, handlers, header=header, decoders=decoders, encoders=encoders)
    marks = {"stdlib_imports": STDLIB_MARK, "runtime_imports": RUNTIME_MARK}
    text = (
        make_environment().get_template(TEMPLATE).render(view=view, runtime_from=runtime_from, **marks, **view.__dict__)
    )
    if runtime_from is not None:
        text = link_runtime(text, runtime_from, view.formats)
    return {"validators/__init__.py": text.encode("utf-8")}


def build_validators_view(
    gtypes: Mapping[str, GType],
    handlers: Sequence[Handler],
    *,
    header: str,
    decoders: ValidatorsPart,
    encoders: ValidatorsPart | None,
) -> ValidatorsView:
    """Lay the parts out for the template: decoders first, then encoders, then the tables."""
    parts = [decoders] if encoders is None else [decoders, encoders]
    lookup = ModuleState(gtypes=gtypes, class_map={})  # only `deref`, for the query coercions
    entries: list[str] = []
    for i, handler in enumerate(sorted(handlers, key=lambda h: h.handlerId)):
        body, query, params = decoders.codecs[i]
        response = encoders.codecs[i][0] if encoders is not None else "None"
        args = [
            "body=" + body,
            "query=" + query,
            "params=" + params,
            "response=" + response,
            "query_table=" + _coercions(lookup, handler.gtypes.query),
            "params_table=" + _coercions(lookup, handler.gtypes.params),
        ]
        text = "".join(f"        {arg},\n" for arg in args)
        entries.append(f"    {py_str(handler.handlerId)}: HandlerCodec(\n{text}    ),")
    formats = {**FORMAT_PATTERNS, **_EXTRA_PATTERNS}
    responses = None
    if decoders.responses is not None:
        ids = [h.handlerId for h in sorted(handlers, key=lambda h: h.handlerId)]
        pairs = zip(ids, decoders.responses, strict=True)
        responses = tuple(_response_entry(hid, codec, "_collect") for hid, codec in pairs)
    modules = None
    if decoders.module_codecs is not None and encoders is not None and encoders.module_codecs is not None:
        modules = _modules_entries(decoders.module_codecs, encoders.module_codecs)
    return ValidatorsView(
        header=header,
        formats=tuple(("_RE_" + py_ident(name).upper(), formats[name]) for name in sorted(formats)),
        imports=tuple(sorted({pair for part in parts for pair in part.imports})),
        early=tuple(line for part in parts for line in part.early),
        functions=tuple(fn for part in parts for fn in part.functions),
        late=tuple(line for part in parts for line in part.late),
        decoders=decoders.entries,
        encoders=encoders.entries if encoders is not None else (),
        handlers=tuple(entries),
        responses=responses,
        modules=modules,
        topic_checks=tuple(_response_entry(name, codec) for name, codec in (encoders.topics if encoders else ())),
        topic_decoders=tuple(_response_entry(name, codec, "_collect") for name, codec in decoders.topics),
    )


def _modules_entries(
    decoders: Sequence[tuple[str, str, str, str]], encoders: Sequence[tuple[str, str, str, str]]
) -> tuple[str, ...]:
    """`MODULES` lines: per module id, per method, a `ModuleCodec` of partials (`_run` for the
    encoders, `_collect` for the decoders, which check in one pass)."""
    lines: list[str] = []
    current: str | None = None
    for dec, enc in zip(decoders, encoders, strict=True):
        module_id, method = dec[0], dec[1]
        if module_id != current:
            if current is not None:
                lines.append("    },")
            lines.append(f"    {py_str(module_id)}: {{")
            current = module_id
        lines.append(f"        {py_str(method)}: ModuleCodec(")
        for name, codec in (
            ("encode_params", enc[2]),
            ("decode_params", dec[2]),
            ("encode_result", enc[3]),
            ("decode_result", dec[3]),
        ):
            run = "_collect" if name.startswith("decode") else "_run"
            flat = f"            {name}=_partial({run}, {codec}),"
            if len(flat) <= 88:
                lines.append(flat)
            else:
                lines.append(
                    f"            {name}=_partial(\n                {run},\n                {codec},\n            ),"
                )
        lines.append("        ),")
    if current is not None:
        lines.append("    },")
    return tuple(lines)


def _response_entry(handler_id: str, codec: str, run: str = "_run") -> str:
    flat = f"    {py_str(handler_id)}: _partial({run}, {codec}),"
    if len(flat) <= 88:
        return flat
    return f"    {py_str(handler_id)}: _partial(\n        {run},\n        {codec},\n    ),"


def module_aliases(gtypes: Mapping[str, GType], class_map: Mapping[str, ClassTarget] | None = None) -> dict[str, str]:
    """`_m<n>` for every module a generated function may name a class from (the origins of the
    types, the class map's targets), numbered in sorted order: the same in every process."""
    modules = {target.module for target in (class_map or {}).values()}
    stack: list[GType] = list(gtypes.values())
    while stack:
        g = stack.pop()
        if isinstance(g, ObjectType | EnumType) and g.origin is not None:
            modules.add(g.origin.module)
        stack.extend(children(g))
    return {module: f"_m{i}" for i, module in enumerate(sorted(modules))}


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
