"""The validator generator: one writer class joining the scalar and container code paths.

Input: GTypes, the named-type table and an optional class map (through `ModuleState`). Output:
Python source for module-level functions and constants (the module skeleton is a template). Every
named or anonymous type gets a fast function (returns `_FAIL`, allocates no issue) and a slow one
(collects every issue); both come from the same walk, switched by `fast`. A decoder's slow function
checks in one pass (`_valguard`): fast checks, and the full ones only where those fail.
"""

from __future__ import annotations

from typing import Final, assert_never

from gati_compiler.emit._valbase import ClassTarget, Direction, GenBase, ModuleState
from gati_compiler.emit._valguard import GuardedGen
from gati_compiler.emit._valscalar import ScalarGen
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
    TupleType,
    UnionType,
)
from gati_compiler.ir.jsonschema import merge_intersection

__all__ = ["ClassTarget", "FunctionGen", "ModuleState", "drain"]

# cheap to generate: recording them would cost more than replaying saves
_UNCACHED: Final = frozenset({PrimitiveType, RefType, AnyType, LiteralType, EnumType})


class FunctionGen(ScalarGen, GuardedGen):
    """Writes one function: dispatches each GType kind to its scalar or container code."""

    # -- dispatch -------------------------------------------------------------------------

    def gen(self, t: GType, s: str, path: str, owner: str | None = None) -> str:
        # Generation is a pure function of these inputs (module-level side effects such as
        # constants and queued functions are idempotent), and the same inputs recur often
        # (aliases, generic instances, shared anonymous types): replay the recorded lines.
        if self.guard:
            return self.guarded(t, s, path, owner)
        if type(t) in _UNCACHED:
            return self._gen(t, s, path, owner)
        inlining = tuple(self._inlining)
        key = (
            id(t),
            s,
            path,
            owner,
            self.fast,
            self.fail,
            self.predeclared,
            self.direction,
            self.w.level,
            self._n,
            inlining,
        )
        cache = self.state.gen_cache
        found = cache.get(key)
        if found is not None and found[0] is t:
            self.w.lines.extend(found[1])
            self._n = found[3]
            return found[2]
        lines = self.w.lines
        mark = len(lines)
        result = self._gen(t, s, path, owner)
        if self.w.lines is lines:
            cache[key] = (t, tuple(lines[mark:]), result, self._n)
        return result

    def _gen(self, t: GType, s: str, path: str, owner: str | None) -> str:
        match t:
            case PrimitiveType():
                return self.primitive(t, s, path)
            case LiteralType():
                return self.literal(t, s, path)
            case EnumType():
                return self.enum(t, s, path, owner)
            case ObjectType():
                return self.obj(t, s, path, owner)
            case ArrayType():
                return self.array(t, s, path)
            case TupleType():
                return self.tuple_(t, s, path)
            case MapType():
                return self.map_(t, s, path)
            case UnionType():
                return self.union(t, s, path)
            case IntersectionType():
                parts: list[ObjectType] = []
                for part in t.parts:
                    target = self.state.deref(part)
                    if not isinstance(target, ObjectType):
                        raise NotImplementedError("intersections are supported between object types only")
                    parts.append(target)
                return self.obj(merge_intersection(parts), s, path, None)
            case RefType():
                target = self.state.gtypes[t.ref]
                if self._inlinable(t.ref, target):
                    # Small non-recursive types are expanded in place: no call on the hot path.
                    self._inlining.append(t.ref)
                    try:
                        return self.gen(target, s, path, t.ref)
                    finally:
                        self._inlining.pop()
                fast, slow = self.state.functions_for(t, self.direction)
                out = self.tmp("r")
                if self.fast:
                    self.w.line(f"{out} = {fast}({s})")
                    self.w.fail_if([f"{out} is _FAIL"], self.fail)
                    return out
                self.w.line(f"{out} = {slow}({s}, {path}, issues)")
                return out
            case AnyType():
                return s
            case _:
                assert_never(t)


def _make(state: ModuleState, direction: Direction, fast: bool) -> GenBase:
    return FunctionGen(state, direction, fast)


def drain(state: ModuleState) -> None:
    """Generate every function queued in `state`, including the ones generation queues."""
    state.drain(_make)
