"""Structural comparison of two GTypes from the point of view of an existing client.

Input: an old and a new GType with the named types each resolves against, the side
(`request`: the new decoder must accept what old clients send; `response`: old clients must
accept what the new encoder produces) and the flavour (body property or path/query/header
parameter, which only changes the rule ids). Output: findings appended to `Compare.out`.

Types are compared by shape, never by name: refs are followed (a visited set of ref pairs stops
cycles), unions are matched option by option, and a renamed class with the same wire shape is
only an SDK finding (`sdk-type-renamed`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from pydantic import JsonValue

from gati_compiler.ir.canonical import refs_in
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
    Property,
    RefType,
    TupleType,
    UnionType,
)
from gati_compiler.ir.models import SourceRef
from gati_compiler.timescape.diff.model import RULES, Finding
from gati_compiler.timescape.diff.shapes import TypeMemo, enum_like, family, tag, values_fit, values_of

Flavor = Literal["body", "path", "query", "header"]
_TRIVIAL_PATTERNS: Final = frozenset({".*", "^.*$", "^.*", ".*$", "(?s).*", "^(.*)$"})
_MAX_ATTRS: Final = ("maximum", "exclusiveMaximum", "maxLength")
_MIN_ATTRS: Final = ("minimum", "exclusiveMinimum", "minLength")


@dataclass
class Compare:
    """The state of one comparison: both type tables, where findings go, the ref pairs seen."""

    old_types: Mapping[str, GType]
    new_types: Mapping[str, GType]
    handler: str
    side: Literal["request", "response"]
    source: SourceRef
    out: list[Finding]
    flavor: Flavor = "body"
    seen: set[tuple[str, str]] = field(default_factory=set)
    memo: TypeMemo | None = None

    def __post_init__(self) -> None:
        if self.memo is None:
            self.memo = TypeMemo(self.old_types, self.new_types)

    # -- findings ---------------------------------------------------------------------------

    def emit(self, rule_id: str, path: str, old: JsonValue, new: JsonValue, detail: str) -> None:
        rule = RULES[rule_id]
        side = rule.side if rule.side in ("sdk", "op") else self.side
        self.out.append(
            Finding(
                rule=rule_id,
                level=rule.level,
                category=rule.category,
                handler=self.handler,
                side=side,
                path=path,
                old=old,
                new=new,
                source=self.source,
                message=f"{rule.title}: `{path}` {detail}",
            )
        )

    def _param(self) -> bool:
        return self.flavor != "body"

    def type_changed(self, path: str, o: GType, n: GType) -> None:
        rid = (
            "response-property-type-changed"
            if self.side == "response"
            else "request-parameter-type-changed"
            if self._param()
            else "request-property-type-changed"
        )
        od, nd = self.describe(o), self.describe(n)
        self.emit(rid, path, od, nd, f"was {od}, is now {nd}")

    # -- resolving --------------------------------------------------------------------------

    def resolve(self, g: GType, old: bool) -> tuple[GType, str | None]:
        table = self.old_types if old else self.new_types
        name: str | None = None
        hops = 0
        while isinstance(g, RefType) and g.ref in table and hops < 64:
            name = g.ref
            g = table[g.ref]
            hops += 1
        return g, name

    def same(self, o: GType, n: GType) -> bool:
        """`o` and `n` are equal including every named type they reach (a fast path only)."""
        memo = self.memo
        assert memo is not None
        return o == n and all(memo.same_ref(r) for r in refs_in(o))

    def describe(self, g: GType, depth: int = 0) -> str:
        if depth > 3:
            return "…"
        if isinstance(g, RefType):
            return g.ref.rsplit(".", 1)[-1]
        if isinstance(g, PrimitiveType):
            return g.type + (f"({g.format})" if g.format else "")
        if isinstance(g, LiteralType | EnumType):
            vals = values_of(g)
            return ("enum " + g.name + " " if isinstance(g, EnumType) else "") + "{" + ", ".join(map(repr, vals)) + "}"
        if isinstance(g, ObjectType):
            return f"object {g.name}" if g.name else "object {" + ", ".join(p.name for p in g.properties) + "}"
        if isinstance(g, ArrayType):
            return f"array of {self.describe(g.items, depth + 1)}"
        if isinstance(g, TupleType):
            return "tuple[" + ", ".join(self.describe(i, depth + 1) for i in g.items) + "]"
        if isinstance(g, MapType):
            return f"map of {self.describe(g.values, depth + 1)}"
        if isinstance(g, UnionType):
            return " | ".join(self.describe(i, depth + 1) for i in g.options)
        if isinstance(g, IntersectionType):
            return " & ".join(self.describe(i, depth + 1) for i in g.parts)
        return "any"

    # -- comparison -------------------------------------------------------------------------

    def compare(self, o: GType, n: GType, path: str) -> None:
        if self.same(o, n):
            return
        o_null, oc = self.split_null(o, True)
        n_null, nc = self.split_null(n, False)
        if self.side == "request" and o_null and not n_null:
            self.emit("request-property-became-not-nullable", path, True, False, "no longer accepts null")
        if self.side == "response" and n_null and not o_null:
            self.emit("response-property-became-nullable", path, False, True, "may now be null")
        if oc is None or nc is None:
            if oc is not nc:
                self.type_changed(path, o, n)
            return
        self.compare_core(oc, nc, path)

    def split_null(self, g: GType, old: bool) -> tuple[bool, GType | None]:
        """(accepts null, the type without null; refs kept); `None` when the type is only null."""
        r, _ = self.resolve(g, old)
        if isinstance(r, PrimitiveType) and r.type == "null":
            return True, None
        if isinstance(r, LiteralType) and None in r.values:
            rest = tuple(v for v in r.values if v is not None)
            return True, (r.model_copy(update={"values": rest}) if rest else None)
        if not isinstance(r, UnionType):
            return False, g
        nullable = False
        options: list[GType] = []
        for opt in r.options:
            is_null, core = self.split_null(opt, old)
            nullable = nullable or is_null
            if core is not None:
                options.append(core)
        if not nullable:
            return False, g
        if not options:
            return True, None
        if len(options) == 1:
            return True, options[0]
        return True, r.model_copy(update={"options": tuple(options)})

    def compare_core(self, o: GType, n: GType, path: str) -> None:
        o, oref = self.resolve(o, True)
        n, nref = self.resolve(n, False)
        if oref is not None and nref is not None:
            if (oref, nref) in self.seen:  # a cycle, or a pair already compared elsewhere
                return
            self.seen.add((oref, nref))
            if oref != nref:
                self.emit("sdk-type-renamed", path, oref, nref, f"type `{oref}` is now `{nref}`")
        request = self.side == "request"
        if isinstance(o, AnyType) or isinstance(n, AnyType):
            if isinstance(o, AnyType) and isinstance(n, AnyType):
                return
            if (request and isinstance(n, AnyType)) or (not request and isinstance(o, AnyType)):
                return
            self.type_changed(path, o, n)
            return
        if isinstance(o, UnionType) or isinstance(n, UnionType):
            self.compare_unions(o, n, path)
            return
        if isinstance(o, ArrayType) != isinstance(n, ArrayType):
            od, nd = self.describe(o), self.describe(n)
            self.emit("property-cardinality-changed", path, od, nd, f"was {od}, is now {nd}")
            return
        if enum_like(o) or enum_like(n):
            self.compare_enums(o, n, path)
            return
        if isinstance(o, PrimitiveType) and isinstance(n, PrimitiveType):
            self.compare_primitives(o, n, path)
            return
        if isinstance(o, ObjectType) and isinstance(n, ObjectType):
            self.compare_objects(o, n, path)
            return
        if isinstance(o, ArrayType) and isinstance(n, ArrayType):
            self.compare_limits(o, n, path, ("maxItems",), ("minItems",))
            self.compare(o.items, n.items, path + "[]")
            return
        if isinstance(o, TupleType) and isinstance(n, TupleType):
            if len(o.items) != len(n.items):
                self.type_changed(path, o, n)
                return
            for i, (oi, ni) in enumerate(zip(o.items, n.items, strict=True)):
                self.compare(oi, ni, f"{path}[{i}]")
            return
        if isinstance(o, MapType) and isinstance(n, MapType):
            self.compare(o.keys, n.keys, path + "{key}")
            self.compare(o.values, n.values, path + "{}")
            return
        if isinstance(o, IntersectionType) and isinstance(n, IntersectionType):
            if request and len(n.parts) > len(o.parts):
                self.emit("request-property-all-of-added", path, len(o.parts), len(n.parts), "has a new allOf part")
            for op_, np_ in zip(o.parts, n.parts, strict=False):
                self.compare(op_, np_, path)
            return
        self.type_changed(path, o, n)

    # -- unions -----------------------------------------------------------------------------

    def compare_unions(self, o: GType, n: GType, path: str) -> None:
        request = self.side == "request"
        o_opts: list[GType] = list(o.options) if isinstance(o, UnionType) else [o]
        n_opts: list[GType] = list(n.options) if isinstance(n, UnionType) else [n]
        o_disc = o.discriminator if isinstance(o, UnionType) else None
        n_disc = n.discriminator if isinstance(n, UnionType) else None
        into = not isinstance(o, UnionType)  # a plain type became a union
        out_of = not isinstance(n, UnionType)
        # request: each old option needs a new one; response: each new option needs an old one
        sources, targets = (o_opts, n_opts) if request else (n_opts, o_opts)
        matched: list[tuple[GType, GType]] = []
        for s in sources:
            t = self.match_option(s, targets, o_disc or n_disc, source_old=request)
            if t is None:
                desc = self.describe(s)
                if into or out_of:
                    od, nd = self.describe(o), self.describe(n)
                    self.emit(
                        "property-one-of-changed", path, od, nd, f"moved into or out of a union: was {od}, is now {nd}"
                    )
                    return
                if request:
                    self.emit(
                        "request-property-one-of-removed", path, desc, None, f"no longer accepts the option {desc}"
                    )
                else:
                    self.emit("response-property-one-of-added", path, None, desc, f"may now be the option {desc}")
                continue
            matched.append((s, t) if request else (t, s))
        if into and request:
            self.emit(
                "request-property-type-widened",
                path,
                self.describe(o),
                self.describe(n),
                "now also accepts other options",
            )
        if out_of and not request:
            self.emit(
                "response-property-type-narrowed",
                path,
                self.describe(o),
                self.describe(n),
                "is now one option of before",
            )
        for oo, nn in matched:
            self.compare(oo, nn, path)

    def match_option(self, s: GType, targets: list[GType], disc: str | None, *, source_old: bool) -> GType | None:
        sr, sname = self.resolve(s, source_old)
        best: GType | None = None
        best_score = -1.0
        for t in targets:
            tr, tname = self.resolve(t, not source_old)
            if family(sr) != family(tr):
                continue
            score = 0.0
            if isinstance(sr, ObjectType) and isinstance(tr, ObjectType):
                if disc is not None:
                    sv, tv = tag(sr, disc, self.resolve, source_old), tag(tr, disc, self.resolve, not source_old)
                    if sv is not None and tv is not None:
                        if sv != tv:
                            continue
                        score += 10
                sp, tp = {p.name for p in sr.properties}, {p.name for p in tr.properties}
                score += len(sp & tp) / max(1, len(sp | tp))
            if sname is not None and sname == tname:
                score += 5
            if s == t:
                score += 20
            if score > best_score:
                best, best_score = t, score
        return best

    # -- enums, primitives, limits ------------------------------------------------------------

    def compare_enums(self, o: GType, n: GType, path: str) -> None:
        request = self.side == "request"
        param = self._param()
        if not enum_like(o):  # became an enum
            if request:
                rid = "request-parameter-became-enum" if param else "request-property-became-enum"
                nd = self.describe(n)
                self.emit(rid, path, self.describe(o), nd, f"only accepts {nd} now")
            elif not values_fit(values_of(n), o):
                self.type_changed(path, o, n)
            return
        if not enum_like(n):  # an enum became a plain type
            if request and values_fit(values_of(o), n):
                self.emit(
                    "request-property-type-widened", path, self.describe(o), self.describe(n), "accepts any value now"
                )
            else:
                self.type_changed(path, o, n)
            return
        ov, nv = values_of(o), values_of(n)
        removed = [v for v in ov if v not in nv]
        added = [v for v in nv if v not in ov]
        if request:
            rid = "request-parameter-enum-value-removed" if param else "request-property-enum-value-removed"
            for v in removed:
                self.emit(rid, path, v, None, f"no longer accepts {v!r}")
            for v in added:
                self.emit("request-property-enum-value-added", path, None, v, f"now also accepts {v!r}")
        else:
            for v in added:
                self.emit(
                    "response-property-enum-value-added", path, None, v, f"may now be {v!r}, unknown to old clients"
                )
        if isinstance(o, EnumType) and isinstance(n, EnumType):
            new_names = {m.value: m.name for m in n.members}
            for m in o.members:
                nm = new_names.get(m.value)
                if nm is not None and nm != m.name:
                    self.emit("enum-member-renamed", path, m.name, nm, f"member `{m.name}` ({m.value!r}) is now `{nm}`")

    def compare_primitives(self, o: PrimitiveType, n: PrimitiveType, path: str) -> None:
        request = self.side == "request"
        if o.type != n.type:
            if request and o.type == "integer" and n.type == "number":
                self.emit("request-property-type-widened", path, "integer", "number", "widened from integer to number")
            elif not request and o.type == "number" and n.type == "integer":
                self.emit(
                    "response-property-type-narrowed", path, "number", "integer", "narrowed from number to integer"
                )
            else:
                self.type_changed(path, o, n)
                return
        if o.format != n.format:
            widening = n.format is None if request else o.format is None
            if not widening:
                self.type_changed(path, o, n)
                return
        self.compare_limits(o, n, path, _MAX_ATTRS, _MIN_ATTRS)
        if request:
            op_, np_ = o.pattern, n.pattern
            if op_ != np_:
                if np_ is None or np_ in _TRIVIAL_PATTERNS:
                    self.emit("request-property-pattern-removed", path, op_, np_, "pattern removed")
                elif op_ is None or op_ in _TRIVIAL_PATTERNS:
                    self.emit("request-property-pattern-added", path, op_, np_, f"must now match `{np_}`")
                else:
                    self.emit("request-property-pattern-changed", path, op_, np_, f"must now match `{np_}`")

    def compare_limits(
        self, o: GType, n: GType, path: str, max_attrs: tuple[str, ...], min_attrs: tuple[str, ...]
    ) -> None:
        request = self.side == "request"
        for attr in max_attrs:
            ov, nv = getattr(o, attr), getattr(n, attr)
            if ov == nv:
                continue
            where = f"{path} ({attr})"
            if request:
                if nv is None or (ov is not None and nv > ov):
                    self.emit("request-property-limit-loosened", where, ov, nv, f"{attr} loosened")
                elif ov is None:
                    self.emit("request-property-max-set", where, ov, nv, f"now has {attr} {nv}")
                else:
                    self.emit("request-property-max-decreased", where, ov, nv, f"{attr} decreased from {ov} to {nv}")
            elif ov is not None and (nv is None or nv > ov):
                self.emit("response-property-max-increased", where, ov, nv, f"{attr} was {ov}, is now {nv}")
        for attr in min_attrs:
            ov, nv = getattr(o, attr), getattr(n, attr)
            if ov == nv:
                continue
            where = f"{path} ({attr})"
            if request:
                if nv is not None and (ov is None or nv > ov):
                    self.emit("request-property-min-increased", where, ov, nv, f"{attr} was {ov}, is now {nv}")
                else:
                    self.emit("request-property-limit-loosened", where, ov, nv, f"{attr} loosened")
            elif ov is not None and (nv is None or nv < ov):
                self.emit("response-property-min-decreased", where, ov, nv, f"{attr} was {ov}, is now {nv}")

    # -- objects ----------------------------------------------------------------------------

    def compare_objects(self, o: ObjectType, n: ObjectType, path: str) -> None:
        request = self.side == "request"
        ops = {p.name: p for p in o.properties}
        nps = {p.name: p for p in n.properties}
        removed = [p for name, p in ops.items() if name not in nps]
        added = {name: p for name, p in nps.items() if name not in ops}
        renamed: dict[str, Property] = {}
        by_py = {(p.pyName or p.name): p for p in added.values()}
        for p in removed:
            q = by_py.get(p.pyName or p.name)
            if q is not None:
                renamed[p.name] = q
                del added[q.name]
        for p in removed:
            sub = self._sub(path, p.name)
            q = renamed.get(p.name)
            if q is not None:
                self.emit("property-wire-name-changed", sub, p.name, q.name, f"is sent as `{q.name}` now")
                self.compare_property(p, q, self._sub(path, q.name))
                continue
            if request:
                rid = "request-parameter-removed" if self._param() else "request-property-removed"
                self.emit(rid, sub, self.describe(p.type), None, "was removed; old clients still send it")
            elif p.required:
                self.emit("response-required-property-removed", sub, self.describe(p.type), None, "was removed")
            else:
                self.emit("response-optional-property-removed", sub, self.describe(p.type), None, "was removed")
        for name, q in sorted(added.items()):
            sub = self._sub(path, name)
            if not request:
                self.emit("response-property-added", sub, None, self.describe(q.type), "was added")
            elif q.required and not q.readOnly:
                rid = {
                    "path": "new-request-path-parameter",
                    "query": "new-required-request-parameter",
                    "header": "new-required-request-parameter",
                    "body": "new-required-request-property",
                }[self.flavor]
                self.emit(rid, sub, None, self.describe(q.type), "is new and required; old clients do not send it")
            else:
                rid = "request-parameter-added" if self._param() else "request-property-added"
                self.emit(rid, sub, None, self.describe(q.type), "was added (optional)")
        for name, p in ops.items():
            if name in nps:
                self.compare_property(p, nps[name], self._sub(path, name))

    def compare_property(self, p: Property, q: Property, path: str) -> None:
        request = self.side == "request"
        if request:
            if q.required and not p.required and not q.readOnly:
                rid = "request-parameter-became-required" if self._param() else "request-property-became-required"
                self.emit(rid, path, False, True, "is required now")
            elif p.required and not q.required:
                self.emit("request-property-became-optional", path, True, False, "is optional now")
            if self._param() and (p.hasDefault, p.default) != (q.hasDefault, q.default):
                old: JsonValue = p.default if p.hasDefault else None
                new: JsonValue = q.default if q.hasDefault else None
                self.emit(
                    "request-parameter-default-value-changed", path, old, new, f"default was {old!r}, is now {new!r}"
                )
        else:
            if p.required and not q.required:
                self.emit("response-property-became-optional", path, True, False, "may be missing now")
            elif q.required and not p.required:
                self.emit("response-property-became-required", path, False, True, "is always present now")
        self.compare(p.type, q.type, path)

    def _sub(self, path: str, name: str) -> str:
        return f"{path}.{name}" if name.isidentifier() else f'{path}["{name}"]'
