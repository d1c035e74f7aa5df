"""One direction's share of a validators module kept between the builds of one process.

`validators.build_validators_part` numbers its functions and constants across the whole module,
so no piece of it can be made alone; but the whole part depends on little besides the named
types. It is made in three steps: a function for every named type offered (`refs`), then one per
*first use* of a type among the handlers' request parts (or responses), in handler order, then the
modules' and topics' codecs. A type met again is answered with the names given at its first use,
and nothing else in the part changes. So two calls whose inputs are the same besides the handlers,
and whose handlers use the same types for the first time in the same order, make the same part
but for the per-handler codec names, which are those of the types they use.

`cached()` keeps the last part made for each slot (the server's decoders, its encoders, the SDK's
decoders) with what it was made from, and answers a call that is the same in that sense with the
kept part and the codecs of the new handlers: a new route whose types are all in use already (or
a handler edited, removed or renamed without a type of its own) reuses the part, byte for byte
what `build_validators_part` gives. Anything else makes the part again. "The same" is `memo.same`
(equal with the same types throughout) for types, modules and topics, equality for the names.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gati_compiler.emit.memo import same
from gati_compiler.ir.gtype import AnyType, GType, RefType
from gati_compiler.ir.models import Handler, ModuleDecl

if TYPE_CHECKING:
    from gati_compiler.emit._valbase import ClassTarget, Direction
    from gati_compiler.emit.validators import ValidatorsPart


@dataclass(frozen=True)
class _Made:
    """A part and what it was made from."""

    fixed: tuple[object, ...]  # the inputs besides the handlers, compared with `memo.same`
    names: tuple[object, ...]  # direction, aliases, class map and refs, compared with ==
    firsts: tuple[tuple[str, GType], ...]  # each type's key and object at its first use
    codec_of: Mapping[str, str]  # a type's key -> its codec text in the part
    part: ValidatorsPart


@dataclass
class PartMemo:
    """The parts kept by slot, and each type's key by object (`_key`)."""

    made: dict[str, _Made] = dataclasses.field(default_factory=dict)
    keys: dict[int, tuple[GType, str]] = dataclasses.field(default_factory=dict)
    used_keys: dict[int, tuple[GType, str]] = dataclasses.field(default_factory=dict)
    hits: int = 0
    misses: int = 0

    def key(self, gtype: GType) -> str:
        """The validators emitter's key of a type (`ModuleState.functions_for`): its ref, or its
        JSON dump, kept per object while the builds use it."""
        found = self.used_keys.get(id(gtype)) or self.keys.get(id(gtype))
        if found is not None and found[0] is gtype:
            self.used_keys[id(gtype)] = found
            return found[1]
        text = "ref:" + gtype.ref if isinstance(gtype, RefType) else gtype.model_dump_json()
        self.used_keys[id(gtype)] = (gtype, text)
        return text

    def end_build(self) -> None:
        self.keys, self.used_keys = self.used_keys, {}


def _uses(handlers: Sequence[Handler], direction: Direction, responses: bool) -> list[tuple[GType | None, ...]]:
    """Per handler, by id, the types `build_validators_part` asks codecs for, in its order."""
    out: list[tuple[GType | None, ...]] = []
    for h in sorted(handlers, key=lambda h: h.handlerId):
        parts = h.gtypes
        if direction == "dec":
            asked: tuple[GType | None, ...] = (parts.request, parts.query, parts.params)
            out.append((*asked, parts.response or AnyType()) if responses else asked)
        else:
            out.append((parts.response,))
    return out


@dataclass(frozen=True)
class Call:
    """A call of `build_validators_part` (its arguments) with the keys the memo compares."""

    slot: str
    gtypes: Mapping[str, GType]
    handlers: Sequence[Handler]
    direction: Direction
    aliases: Mapping[str, str]
    class_map: Mapping[str, ClassTarget] | None
    refs: Collection[str] | None
    responses: bool
    modules: Sequence[ModuleDecl] | None
    topics: Sequence[tuple[str, GType]]
    fixed: tuple[object, ...]
    names: tuple[object, ...]
    keyed: tuple[tuple[str | None, ...], ...]  # per handler, the keys of the types it uses
    firsts: tuple[tuple[str, GType], ...]

    def make(self) -> ValidatorsPart:
        from gati_compiler.emit.validators import build_validators_part

        return build_validators_part(
            self.gtypes,
            self.handlers,
            self.direction,
            aliases=self.aliases,
            class_map=self.class_map,
            refs=self.refs,
            responses=self.responses,
            modules=self.modules,
            topics=self.topics,
        )


def call(
    parts: PartMemo,
    slot: str,
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
) -> Call:
    """The call `build_validators_part(gtypes, handlers, direction, ...)` for `slot`, keyed."""
    uses = _uses(handlers, direction, responses)
    keyed = tuple(tuple(None if g is None else parts.key(g) for g in row) for row in uses)
    firsts: dict[str, GType] = {}
    for row, keys in zip(uses, keyed, strict=True):
        for g, k in zip(row, keys, strict=True):
            if g is not None and k is not None and k not in firsts:
                firsts[k] = g
    return Call(
        slot=slot,
        gtypes=gtypes,
        handlers=handlers,
        direction=direction,
        aliases=aliases,
        class_map=class_map,
        refs=refs,
        responses=responses,
        modules=modules,
        topics=topics,
        fixed=(dict(gtypes), None if modules is None else tuple(modules), tuple(topics)),
        names=(
            direction,
            responses,
            list(aliases.items()),
            list((class_map or {}).items()),
            None if refs is None else frozenset(refs),
        ),
        keyed=keyed,
        firsts=tuple(firsts.items()),
    )


def lookup(parts: PartMemo, c: Call) -> ValidatorsPart | None:
    """The part the last call for the slot made, with `c`'s handlers' codecs, when it is what
    `c.make()` gives; None otherwise."""
    kept = parts.made.get(c.slot)
    if (
        kept is None
        or kept.names != c.names
        or len(kept.firsts) != len(c.firsts)
        or not all(k == old_k and same(old_g, g) for (old_k, old_g), (k, g) in zip(kept.firsts, c.firsts, strict=True))
        or not same(kept.fixed, c.fixed)
    ):
        parts.misses += 1
        return None
    parts.hits += 1
    codecs = [tuple("None" if k is None else kept.codec_of[k] for k in keys) for keys in c.keyed]
    dec_checks = c.responses and c.direction == "dec"
    new = dataclasses.replace(kept.part, codecs=tuple(row[:3] if dec_checks else row for row in codecs))
    if dec_checks:
        new = dataclasses.replace(new, responses=tuple(row[3] for row in codecs))
    parts.made[c.slot] = dataclasses.replace(kept, part=new)
    return new


def store(parts: PartMemo, c: Call, made: ValidatorsPart) -> None:
    """Keep `made` (what `c.make()` gave) for the next call for the slot."""
    rows: Sequence[tuple[str, ...]] = made.codecs
    if c.responses and c.direction == "dec":
        assert made.responses is not None
        rows = [(*row, check) for row, check in zip(made.codecs, made.responses, strict=True)]
    codec_of: dict[str, str] = {}
    for keys, texts in zip(c.keyed, rows, strict=True):
        for k, text in zip(keys, texts, strict=True):
            if k is not None:
                codec_of.setdefault(k, text)
    parts.made[c.slot] = _Made(c.fixed, c.names, c.firsts, codec_of, made)


def cached(parts: PartMemo, c: Call) -> ValidatorsPart:
    """The part of call `c`: the kept one when it is the same (`lookup`), else made and kept."""
    found = lookup(parts, c)
    if found is not None:
        return found
    made = c.make()
    store(parts, c, made)
    return made
