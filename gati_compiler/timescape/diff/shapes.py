"""Helpers of the structural comparison: the memo of equal named types, and what a GType's
values are (enum members, literals) and whether they fit a plain type.

Input: GTypes. Output: plain answers; no findings are made here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from gati_compiler.ir.canonical import refs_in
from gati_compiler.ir.gtype import AnyType, EnumType, GType, LiteralType, ObjectType, PrimitiveType, Scalar


class TypeMemo:
    """Which named types are the same in both tables, including every type they reach; computed
    once per diff and shared by all its comparisons."""

    def __init__(self, old_types: Mapping[str, GType], new_types: Mapping[str, GType]) -> None:
        self.old_types = old_types
        self.new_types = new_types
        self._deep: dict[str, bool] = {}
        self._refs: dict[str, list[str]] = {}

    def _shallow(self, name: str) -> bool:
        o, n = self.old_types.get(name), self.new_types.get(name)
        if o is None or n is None:
            return False
        return o is n or o == n

    def same_ref(self, name: str) -> bool:
        known = self._deep.get(name)
        if known is not None:
            return known
        visited: set[str] = set()
        stack = [name]
        while stack:  # every type reachable from `name` must be equal on both sides
            ref = stack.pop()
            if ref in visited:
                continue
            if self._deep.get(ref) is True:
                continue
            if self._deep.get(ref) is False or not self._shallow(ref):
                self._deep[ref] = False
                self._deep[name] = False
                return False
            visited.add(ref)
            refs = self._refs.get(ref)
            if refs is None:
                refs = self._refs[ref] = refs_in(self.old_types[ref])
            stack.extend(refs)
        for ref in visited:
            self._deep[ref] = True
        return True


def enum_like(g: GType) -> bool:
    return isinstance(g, EnumType | LiteralType)


def values_of(g: GType) -> list[Scalar]:
    if isinstance(g, EnumType):
        return [m.value for m in g.members]
    if isinstance(g, LiteralType):
        return list(g.values)
    return []


def values_fit(values: list[Scalar], g: GType) -> bool:
    """Every value is an instance of the plain type `g`, within its limits and pattern."""
    if isinstance(g, AnyType):
        return True
    if not isinstance(g, PrimitiveType) or g.format is not None or g.multipleOf is not None:
        return False
    kinds = {"string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,)}.get(g.type, ())
    return all(fits(v, g, kinds) for v in values)


def fits(v: Scalar, g: PrimitiveType, kinds: tuple[type, ...]) -> bool:
    if not isinstance(v, kinds) or (isinstance(v, bool) and g.type != "boolean"):
        return False
    if isinstance(v, str):
        if (g.minLength is not None and len(v) < g.minLength) or (g.maxLength is not None and len(v) > g.maxLength):
            return False
        try:
            return g.pattern is None or re.search(g.pattern, v) is not None
        except re.error:  # an ECMA pattern Python cannot read: assume it may reject the value
            return False
    if isinstance(v, int | float) and not isinstance(v, bool):
        low = (g.minimum is None or v >= g.minimum) and (g.exclusiveMinimum is None or v > g.exclusiveMinimum)
        high = (g.maximum is None or v <= g.maximum) and (g.exclusiveMaximum is None or v < g.exclusiveMaximum)
        return low and high
    return True


def family(g: GType) -> str:
    if isinstance(g, PrimitiveType):
        return "number" if g.type in ("integer", "number") else g.type
    if isinstance(g, EnumType | LiteralType):
        vals = values_of(g)
        return "string" if all(isinstance(v, str) for v in vals) else "number"
    return g.kind


def tag(
    g: ObjectType, disc: str, resolve: Callable[[GType, bool], tuple[GType, str | None]], old: bool
) -> Scalar | None:
    for p in g.properties:
        if p.name == disc:
            t, _ = resolve(p.type, old)
            vals = values_of(t)
            return vals[0] if len(vals) == 1 else None
    return None
