"""Quick checks of an old version's request bodies and success bodies, for the Timescape chains.

An old version's request is checked before its upgrades and its downgraded answer after them;
both times the runtime only needs a yes, the decoded value is thrown away. The generated
decoders build that value all the same. A quick check answers the yes without building anything:
`check(value) -> bool`, where True promises that the version's decoder accepts `value`. False
promises nothing: the runtime then runs the decoder, which rejects with the issues (the 422 or
the GATI524) or accepts a value the check does not know (an integral float for an `int`, say).
So a check only has to be as strict as the decoder or stricter, never looser; it is written only
for the shapes whose rules are simple enough to state here exactly (the decoder's fast path, see
`gati_compiler/emit/_valscalar.py` and `_valcontainer.py`): objects (`extra` ignore or forbid),
lists, strings with lengths and patterns, integers with bounds, booleans, null, string enums and
literals, `X | None`, and named references to these. A handler whose type uses anything else
gets no check (the decoder alone, as before).

Input: the handlers and named GTypes of a version's program, as `version_validators` prepares
them (plain values). Output: the module text, `BODIES` and `RESPONSES` keyed by handler id. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from gati_compiler.emit._pytidy import tidy_predicate
from gati_compiler.emit._valbase import ecma_anchors
from gati_compiler.emit.render import py_str
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
from gati_compiler.ir.models import Handler

_ANON = "<unnamed>"  # the key of a handler's unnamed body type among the named ones


class Unsupported(Exception):
    """A GType this module does not check (the decoder alone then)."""


@dataclass
class _Module:
    gtypes: Mapping[str, GType]
    consts: dict[str, str] = field(default_factory=dict)  # expression -> name
    functions: dict[str, list[str]] = field(default_factory=dict)  # ref -> lines (None while being written)
    names: dict[str, str] = field(default_factory=dict)  # ref -> function name
    counter: int = 0

    def const(self, expr: str) -> str:
        name = self.consts.get(expr)
        if name is None:
            name = self.consts[expr] = f"_C{len(self.consts)}"
        return name

    def tmp(self) -> str:
        self.counter += 1
        return f"v{self.counter}"

    def function(self, ref: str) -> str:
        """The check of a named type, written once (recursive types call themselves)."""
        name = self.names.get(ref)
        if name is not None:
            return name
        name = self.names[ref] = f"_chk_{len(self.names)}"
        lines = [f"def {name}(v: Any) -> bool:", f"    # {'an unnamed type' if ref.startswith(_ANON) else ref}"]
        self.functions[ref] = lines
        self.check(self.gtypes[ref], "v", lines, 1)
        lines.append("    return True")
        return name

    def check(self, t: GType, s: str, out: list[str], depth: int) -> None:
        """Lines (at `depth`) that return False unless `s` passes `t`."""
        pad = "    " * depth
        if isinstance(t, RefType):
            target = self.gtypes.get(t.ref)
            if target is None:
                raise Unsupported(t.ref)
            if isinstance(target, PrimitiveType | EnumType | LiteralType):  # a condition or two: inline
                self.check(target, s, out, depth)
                return
            out.append(f"{pad}if not {self.function(t.ref)}({s}):")
            out.append(f"{pad}    return False")
        elif isinstance(t, PrimitiveType):
            out.append(f"{pad}if {' or '.join(self.primitive(t, s))}:")
            out.append(f"{pad}    return False")
        elif isinstance(t, EnumType | LiteralType):
            values = [m.value for m in t.members] if isinstance(t, EnumType) else list(t.values)
            if not values or not all(type(v) is str for v in values):
                raise Unsupported("a non-string enum or literal")
            members = self.const("frozenset({" + ", ".join(py_str(str(v)) for v in sorted(map(str, values))) + "})")
            out.append(f"{pad}if type({s}) is not str or {s} not in {members}:")
            out.append(f"{pad}    return False")
        elif isinstance(t, UnionType):
            nulls = [o for o in t.options if isinstance(o, PrimitiveType) and o.type == "null"]
            rest = [o for o in t.options if o not in nulls]
            if len(t.options) != 2 or len(nulls) != 1 or t.discriminator is not None:
                raise Unsupported("a union other than `X | None`")
            out.append(f"{pad}if {s} is not None:")
            self.check(rest[0], s, out, depth + 1)
        elif isinstance(t, ObjectType):
            self.obj(t, s, out, depth)
        elif isinstance(t, ArrayType):
            if t.container != "list" or t.uniqueItems:
                raise Unsupported(f"a {t.container} array")
            bad = [f"type({s}) is not list"]
            if t.minItems is not None:
                bad.append(f"len({s}) < {t.minItems}")
            if t.maxItems is not None:
                bad.append(f"len({s}) > {t.maxItems}")
            out.append(f"{pad}if {' or '.join(bad)}:")
            out.append(f"{pad}    return False")
            item = self.tmp()
            out.append(f"{pad}for {item} in {s}:")
            self.check(t.items, item, out, depth + 1)
        else:
            raise Unsupported(t.kind)

    def primitive(self, t: PrimitiveType, s: str) -> list[str]:
        """The conditions under which `s` fails `t`."""
        if t.format is not None:
            raise Unsupported(f"format {t.format}")
        if t.type == "null":
            return [f"{s} is not None"]
        if t.type == "boolean":
            return [f"type({s}) is not bool"]
        if t.type == "integer":
            if t.multipleOf is not None:
                raise Unsupported("multipleOf")
            bad = [f"type({s}) is not int"]
            if t.minimum is not None:
                bad.append(f"{s} < {t.minimum!r}")
            if t.exclusiveMinimum is not None:
                bad.append(f"{s} <= {t.exclusiveMinimum!r}")
            if t.maximum is not None:
                bad.append(f"{s} > {t.maximum!r}")
            if t.exclusiveMaximum is not None:
                bad.append(f"{s} >= {t.exclusiveMaximum!r}")
            return bad
        if t.type == "string":
            bad = [f"type({s}) is not str"]
            if t.minLength is not None:
                bad.append(f"len({s}) < {t.minLength}")
            if t.maxLength is not None:
                bad.append(f"len({s}) > {t.maxLength}")
            if t.pattern is not None:
                search = self.const(f"re.compile({py_str(ecma_anchors(t.pattern))}).search")  # bound once
                bad.append(f"{search}({s}) is None")
            return bad
        raise Unsupported(t.type)

    def obj(self, t: ObjectType, s: str, out: list[str], depth: int) -> None:
        if t.extra == "allow" or any(p.readOnly for p in t.properties):
            raise Unsupported("an object with extra keys kept or read-only properties")
        pad = "    " * depth
        out.append(f"{pad}if type({s}) is not dict:")
        out.append(f"{pad}    return False")
        values = {p.name: self.tmp() for p in t.properties}
        required = [p for p in t.properties if p.required]
        if required:  # one `try` for every required key, as the decoders' fast path
            out.append(f"{pad}try:")
            out += [f"{pad}    {values[p.name]} = {s}[{py_str(p.name)}]" for p in required]
            out.append(f"{pad}except KeyError:")
            out.append(f"{pad}    return False")
        for p in t.properties:
            value = values[p.name]
            if p.required:
                self.check(p.type, value, out, depth)
            else:
                out.append(f"{pad}{value} = {s}.get({py_str(p.name)}, _MISSING)")
                out.append(f"{pad}if {value} is not _MISSING:")
                self.check(p.type, value, out, depth + 1)
        if t.extra == "forbid":
            known = self.const("frozenset({" + ", ".join(py_str(p.name) for p in t.properties) + "})")
            key = self.tmp()
            out.append(f"{pad}for {key} in {s}:")
            out.append(f"{pad}    if {key} not in {known}:")
            out.append(f"{pad}        return False")


def _root(module: _Module, gtype: GType | None) -> str | None:
    """The check function of a handler's body or response type, or None when unsupported."""
    if gtype is None:
        return None
    ref = gtype.ref if isinstance(gtype, RefType) else None
    saved = (dict(module.consts), dict(module.functions), dict(module.names), module.counter)
    try:
        if ref is not None:
            return module.function(ref) if ref in module.gtypes else None
        anon = f"{_ANON}{len(module.names)}"
        module.gtypes = {**module.gtypes, anon: gtype}
        return module.function(anon)
    except Unsupported:
        module.consts, module.functions, module.names, module.counter = saved
        return None


def checks_module(gtypes: Mapping[str, GType], handlers: Sequence[Handler], *, header: str) -> str | None:
    """The module of quick checks for `handlers` (plain GTypes), or None when none is possible."""
    ordered = sorted(handlers, key=lambda h: h.handlerId)
    return checks_source(
        gtypes,
        {h.handlerId: h.gtypes.request for h in ordered},
        {h.handlerId: h.gtypes.response for h in ordered},
        header=header,
    )


def checks_source(
    gtypes: Mapping[str, GType],
    body_types: Mapping[str, GType | None],
    response_types: Mapping[str, GType | None],
    *,
    header: str,
) -> str | None:
    """The module text: `BODIES` and `RESPONSES` keyed as the given types (those it can check)."""
    module = _Module(gtypes)
    bodies: dict[str, str] = {}
    responses: dict[str, str] = {}
    for found, types in ((bodies, body_types), (responses, response_types)):
        for key, gtype in types.items():
            name = _root(module, gtype)
            if name is not None:
                found[key] = name
    if not bodies and not responses:
        return None
    lines = [
        f"# {header}".rstrip("\n"),
        '"""Quick checks of this version\'s request and success bodies: True means its decoder accepts the',
        'value; False, run the decoder (`gati_compiler/timescape/emit_checks.py`)."""',
        "",
        "from __future__ import annotations",
        "",
        *(["import re"] if any(e.startswith("re.") for e in module.consts) else []),
        "from collections.abc import Callable",
        "from typing import Any, Final",
        "",
        "_MISSING: Final = object()",
    ]
    lines += [f"{name}: Final = {expr}" for expr, name in module.consts.items()]
    for fn in module.functions.values():
        lines += ["", "", *tidy_predicate(fn)]
    lines += ["", ""]
    for table, rows in (("BODIES", bodies), ("RESPONSES", responses)):
        if not rows:
            lines.append(f"{table}: Final[dict[str, Callable[[Any], bool]]] = {{}}")
            continue
        lines.append(f"{table}: Final[dict[str, Callable[[Any], bool]]] = {{")
        lines += [f"    {py_str(key)}: {name}," for key, name in rows.items()]
        lines.append("}")
    return "\n".join(lines) + "\n"
