"""Code for union GTypes: `X | None`, unions tried in priority order, and unions told apart by a
discriminator field (one dictionary lookup instead of trying each option).

A part of the generator classes (`ContainerGen` derives from `UnionGen`); nested options go back
through `gen` as the containers' do.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Final

from gati_compiler.emit._valbase import GenBase, describe, json_types
from gati_compiler.emit.render import py_str
from gati_compiler.ir.gtype import AnyType, EnumType, GType, LiteralType, ObjectType, PrimitiveType, UnionType

# What pydantic's smart union makes of a JSON value, by option: an exact match wins over a strict
# one, a strict one over a lax one, and among equals the option written first wins. JSON `null`,
# booleans, integers, literals and a UUID read from a string match exactly; a string (for `str`,
# `bytes`, dates and times, `Decimal`), a number for `float` or `Decimal`, `Any`, arrays and
# objects strictly; an enum member looked up by its value laxly.
_EXACT: Final = 0
_STRICT: Final = 1
_LAX: Final = 2


def union_priority(gtype: GType) -> int:
    """The order a decoder tries a union's (dereferenced) options in: this key, then the order
    they were written in, so `datetime | str` reads `"2024-01-01T00:00"` as a `datetime` and
    `str | datetime` as a `str`, as pydantic strict does."""
    match gtype:
        case PrimitiveType(type="null" | "boolean" | "integer"):
            return _EXACT
        case PrimitiveType(type="string", format="uuid"):
            return _EXACT
        case LiteralType():
            return _EXACT
        case EnumType():
            return _LAX
        case _:
            return _STRICT


class UnionGen(GenBase):
    def union(self, t: UnionType, s: str, path: str) -> str:
        options = list(t.options)
        non_null = [o for o in options if not (isinstance(o, PrimitiveType) and o.type == "null")]
        if len(non_null) == 1 and len(options) == 2:
            lines, result = self.items_code(non_null[0], s, path)
            if result == s:  # the value itself either way: no variable
                if lines:
                    self.w.line(f"if {s} is not None:")
                    self.w.lines.extend(lines)
                return s
            out = self.tmp("o")
            self.w.line(f"{out}: Any = None")
            self.w.line(f"if {s} is not None:")
            self.w.lines.extend(lines)
            with self.w.indent():
                self.w.line(f"{out} = {result}")
            return out
        if not self.enc:
            options.sort(key=lambda o: union_priority(self.state.deref(o)))
        if t.discriminator is not None and not self.enc:
            table = self.discriminated(t, options)
            if table is not None:
                return self.tagged(t, table, s, path)
        names = [self.state.functions_for(o, self.direction) for o in options]
        gate = None if self.enc else float_gate(list(t.options), options, self.state.deref)
        if gate is not None:
            # the `float` option once more, for JSON floats only, where pydantic ranks it for them
            index, at = gate
            fast, slow = names[index]
            fast = self.state.const("G", [f"_when_float({fast})"], late=True)
            slow = self.state.const("G", [f"_when_float_slow({slow})"], late=True)
            names.insert(at, (fast, slow))
            options.insert(at, options[index])
        out = self.tmp("o")
        if self.fast:
            fns = ", ".join(fast for fast, _ in names)
            if self.w.fits(f"{out} = _union_fast({s}, ({fns}))"):
                self.w.line(f"{out} = _union_fast({s}, ({fns}))")
            else:
                self.w.call(f"{out} = _union_fast({s}, (", [fast for fast, _ in names], "))")
            self.w.fail_if([f"{out} is _FAIL"], self.fail)
            return out
        entries = []
        for i, (option, (fast, slow)) in enumerate(zip(options, names, strict=True)):
            types = "{" + ", ".join(py_str(x) for x in sorted(json_types(option, self.state.gtypes))) + "}"
            # the gated copy is never the one option a failed value is reported against
            kinds = "frozenset()" if gate is not None and i == gate[1] else f"frozenset({types})"
            entries.extend(["    (", f"        {fast},", f"        {slow},", f"        {kinds},", "    ),"])
        table_name = self.state.const("U", ["(", *entries, ")"], late=True)
        expected = "`" + describe(t, self.state.gtypes) + "`"
        self.w.call(f"{out} = _union_slow(", [s, path, "issues", table_name, py_str(expected)])
        return out

    def discriminated(self, t: UnionType, options: list[GType]) -> dict[str, GType] | None:
        table: dict[str, GType] = {}
        for option in options:
            target = self.state.deref(option)
            if not isinstance(target, ObjectType):
                return None
            prop = next((p for p in target.properties if p.name == t.discriminator and p.required), None)
            if prop is None:
                return None
            tag_type = self.state.deref(prop.type)
            if isinstance(tag_type, LiteralType):
                values: list[object] = list(tag_type.values)
            elif isinstance(tag_type, EnumType):
                values = [m.value for m in tag_type.members]
            else:
                return None
            for value in values:
                if not isinstance(value, str) or value in table:
                    return None
                table[value] = option
        return table

    def tagged(self, t: UnionType, table: dict[str, GType], s: str, path: str) -> str:
        entries = []
        for tag in sorted(table):
            fast, slow = self.state.functions_for(table[tag], self.direction)
            entries.append(f"    {py_str(tag)}: {slow if not self.fast else fast},")
        name = self.state.const("DU", ["{", *entries, "}"], late=True)
        disc = py_str(t.discriminator or "")
        out, tag, fn = self.tmp("o"), self.tmp("tag"), self.tmp("fn")
        if self.fast:
            self.w.fail_if([f"type({s}) is not dict"], self.fail)
            self.w.line(f"{tag} = {s}.get({disc})")
            self.w.line(f"{fn} = {name}.get({tag}) if type({tag}) is str else None")
            self.w.fail_if([f"{fn} is None"], self.fail)
            self.w.line(f"{out} = {fn}({s})")
            self.w.fail_if([f"{out} is _FAIL"], self.fail)
            return out
        self.w.line(f"{out}: Any = None")
        if self.type_guard(f"type({s}) is not dict", path, "object", s):
            with self.w.indent():
                self.w.line(f"{tag} = {s}.get({disc}, _MISSING)")
                self.w.line(f"{fn} = {name}.get({tag}) if type({tag}) is str else None")
                self.w.line(f"if {tag} is _MISSING:")
                with self.w.indent():
                    self.issue(self.child(path, t.discriminator or ""), "missing", "discriminator", s)
                self.w.line(f"elif {fn} is None:")
                with self.w.indent():
                    expected = "`" + " | ".join(json.dumps(k) for k in sorted(table)) + "`"
                    self.issue(self.child(path, t.discriminator or ""), "union_tag", expected, tag)
                self.w.line("else:")
                with self.w.indent():
                    self.w.line(f"{out} = {fn}({s}, {path}, issues)")
        return out


def float_gate(written: list[GType], tried: list[GType], deref: Callable[[GType], GType]) -> tuple[int, int] | None:
    """Where a JSON float must meet a union's plain `float` option when the order `tried` (exact
    matches first) does not put it there: (the option's index in `tried`, where its copy for floats
    goes), else None. pydantic matches a float to `float` exactly but an integer only strictly, so
    for a float it ranks `float` with the integers and integer literals (in the order written),
    ahead of a `Decimal` or `Any`, which match a float strictly."""
    kinds = [_float_kind(deref(o)) for o in written]
    if "float" not in kinds:
        return None
    at = kinds.index("float")
    before = [written[i] for i in range(at) if kinds[i] == "exact"]
    index = next(i for i, o in enumerate(tried) if o is written[at])
    after = max((i for i, o in enumerate(tried) if any(o is b for b in before)), default=-1) + 1
    if all(_float_kind(deref(o)) is None for o in tried[after:index]):
        return None  # nothing else that reads a float comes between
    return index, after


def _float_kind(target: GType) -> str | None:
    """How a union option reads a JSON float: `float` itself, exactly (an `int`, which takes an
    integral float as SPEC section 4 says, or an integer literal), strictly (`Decimal`, `Any`),
    or not at all (None; an enum reads one laxly, after everything else)."""
    match target:
        case PrimitiveType(type="number", format=None):
            return "float"
        case PrimitiveType(type="integer"):
            return "exact"
        case LiteralType(values=values) if any(type(v) is int for v in values):
            return "exact"
        case PrimitiveType(type="number") | AnyType():
            return "strict"
        case _:
            return None
