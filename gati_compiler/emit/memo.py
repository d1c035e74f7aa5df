"""Emitted pieces kept between the builds of one process (`gatic watch`), keyed by IR object.

A rebuild lowers the whole program again, so every IR object is new even where nothing changed.
`EmitMemo.intern` puts back the previous build's object wherever the new one is the same (same
types all the way down, so `1`, `1.0` and `True` never pass for each other), and emitters then
ask `piece(kind, obj, make)`: the output made from that very object last time, or `make()`. A
piece is kept while the builds use it, so memory stays that of one build's pieces.

What is built here from pieces is byte for byte what the whole-program code paths give
(`manifest.program_content_hash`, `gtypes.json`, handler manifests); where the pieces cannot be
joined the same way (an integer beyond 64 bits, which orjson declines), the whole path runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, TypeVar

import orjson
from pydantic import BaseModel

from gati_compiler.ir.gtype import GType
from gati_compiler.ir.models import Program

if TYPE_CHECKING:
    from gati_compiler.emit.memo_parts import PartMemo

T = TypeVar("T")
_SORT = orjson.OPT_SORT_KEYS
_PRETTY = orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2


_SCALARS: Final = frozenset({str, int, float, bool, type(None)})


def same(a: object, b: object) -> bool:
    """Whether `a` and `b` are equal with the same types throughout (IR models, tuples, lists,
    dicts in the same key order, and scalars of the same type; a NaN is never the same)."""
    if a is b:
        return True
    kind = type(a)
    if kind is not type(b):
        return False
    if kind in _SCALARS:
        return bool(a == b)
    if isinstance(a, BaseModel):
        assert isinstance(b, BaseModel)
        if a.__pydantic_extra__ != b.__pydantic_extra__ or a.__pydantic_private__ != b.__pydantic_private__:
            return False
        theirs = b.__dict__
        for name, value in a.__dict__.items():
            other = theirs[name]
            if value is other:
                continue
            if type(value) is not type(other):
                return False
            if type(value) in _SCALARS:
                if value != other:
                    return False
            elif not same(value, other):
                return False
        return True
    if kind is tuple or kind is list:
        assert isinstance(a, tuple | list) and isinstance(b, tuple | list)
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if kind is dict:
        assert isinstance(a, dict) and isinstance(b, dict)
        return list(a) == list(b) and all(same(v, b[k]) for k, v in a.items())
    return False  # anything else is never taken for the same


class EmitMemo:
    def __init__(self) -> None:
        self.program: Program | None = None  # the last program `intern` returned
        self._kept: dict[tuple[str, int], tuple[object, Any]] = {}
        self._used: dict[tuple[str, int], tuple[object, Any]] = {}
        self.hits = 0
        self.misses = 0
        self._parts: PartMemo | None = None

    @property
    def parts(self) -> PartMemo:
        """The validators modules' parts kept between builds (`memo_parts`)."""
        if self._parts is None:
            from gati_compiler.emit.memo_parts import PartMemo

            self._parts = PartMemo()
        return self._parts

    # -- IR objects ---------------------------------------------------------------------------

    def intern(self, program: Program) -> Program:
        """`program` with every handler, module, hook and named type that is the same as in the
        last interned program replaced by that program's object (the last program itself when
        nothing differs)."""
        old = self.program
        if old is None:
            self.program = program
            return program
        handlers = _reuse_by(program.handlers, {h.handlerId: h for h in old.handlers}, lambda h: h.handlerId)
        modules = _reuse_by(program.modules, {m.moduleId: m for m in old.modules}, lambda m: m.moduleId)
        hooks = _reuse_by(program.globalHooks, {h.id: h for h in old.globalHooks}, lambda h: h.id)
        gtypes: dict[str, GType] = {}
        for ref, g in program.gtypes.items():
            before = old.gtypes.get(ref)
            gtypes[ref] = before if before is not None and same(before, g) else g
        update: dict[str, Any] = {"handlers": handlers, "modules": modules, "globalHooks": hooks, "gtypes": gtypes}
        for name in ("transformers", "topics"):
            if same(getattr(old, name), getattr(program, name)):
                update[name] = getattr(old, name)
        interned = program.model_copy(update=update)
        self.program = old if same(old, interned) else interned
        return self.program

    # -- pieces -------------------------------------------------------------------------------

    def piece(self, kind: str, obj: object, make: Callable[[], T]) -> T:
        """What `make()` gives for `obj`, made once while `obj` is kept by the builds."""
        key = (kind, id(obj))
        found = self._used.get(key) or self._kept.get(key)
        if found is not None and found[0] is obj:
            self._used[key] = found
            self.hits += 1
            return found[1]  # type: ignore[no-any-return]
        value = make()
        self._used[key] = (obj, value)
        self.misses += 1
        return value

    def end_build(self) -> None:
        """Keep the pieces this build used; drop the rest."""
        self._kept, self._used = self._used, {}
        self.hits = self.misses = 0
        if self._parts is not None:
            self._parts.end_build()


def _reuse_by(new: tuple[Any, ...], old: Mapping[str, Any], key: Callable[[Any], str]) -> tuple[Any, ...]:
    out = []
    for item in new:
        before = old.get(key(item))
        out.append(before if before is not None and same(before, item) else item)
    return tuple(out)


# -- whole-program artifacts from pieces -------------------------------------------------------


def compact(memo: EmitMemo, kind: str, model: BaseModel) -> bytes:
    """`compact_json` of the model's JSON dump (without `None`s), as bytes; raises TypeError where
    orjson declines (the caller then takes the whole path)."""
    return memo.piece(kind, model, lambda: orjson.dumps(model.model_dump(mode="json", exclude_none=True), option=_SORT))


def pretty(memo: EmitMemo, kind: str, model: BaseModel) -> bytes:
    """`canonical_bytes` of the model's JSON dump without the trailing newline (see `compact`)."""
    return memo.piece(
        kind, model, lambda: orjson.dumps(model.model_dump(mode="json", exclude_none=True), option=_PRETTY)
    )


def program_compact_json(memo: EmitMemo, program: Program) -> bytes | None:
    """`compact_json(dump_ir(program))` as bytes, joined from per-handler and per-type pieces;
    None when some part is beyond orjson (the caller dumps the whole program instead)."""
    try:
        rest = program.model_dump(mode="json", exclude_none=True, exclude={"handlers", "gtypes"})
        parts: dict[str, bytes] = {key: orjson.dumps(value, option=_SORT) for key, value in rest.items()}
        parts["handlers"] = b"[" + b",".join(compact(memo, "compact", h) for h in program.handlers) + b"]"
        parts["gtypes"] = (
            b"{"
            + b",".join(
                orjson.dumps(ref) + b":" + compact(memo, "compact", program.gtypes[ref])
                for ref in sorted(program.gtypes)
            )
            + b"}"
        )
    except TypeError:
        return None
    return b"{" + b",".join(orjson.dumps(key) + b":" + parts[key] for key in sorted(parts)) + b"}"


def gtypes_file(memo: EmitMemo, gtypes: Mapping[str, GType]) -> bytes | None:
    """`gtypes.json` (`canonical_bytes` of every named type's dump, by ref), joined from per-type
    pieces; None when a type is beyond orjson."""
    if not gtypes:
        return b"{}\n"
    try:
        items = [
            b"  " + orjson.dumps(ref) + b": " + pretty(memo, "pretty", gtypes[ref]).replace(b"\n", b"\n  ")
            for ref in sorted(gtypes)
        ]
    except TypeError:
        return None
    return b"{\n" + b",\n".join(items) + b"\n}\n"
