"""The Python source of a step's transformers, as `gatic transformers write` writes it.

Input: a breaking `Step` (both segments' contracts and named GTypes) and which sides to write.
Output: a `StepCode`: the module text, and per side whether the code is complete. Mechanical
changes get complete code (nested objects and lists of objects inline, when they need no
statement of their own): a renamed property (one removed and one added
of the same type), a renamed enum value, a property added with a default, a removed property,
optional made required with a default, a widened (`int` -> `float`) or subset (enum) type. Anything
else becomes a stub that raises `NotImplementedError` and carries the diff as `# TODO` lines.
Pure: no I/O. The generated module imports its types from `gati_versions.steps.<step module>`
under `TYPE_CHECKING`.
"""

from __future__ import annotations

import hashlib
import json
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from gati_compiler.canonical import compact_json
from gati_compiler.ir.gtype import ArrayType, EnumType, GType, LiteralType, ObjectType, PrimitiveType, RefType
from gati_compiler.timescape.diff import Finding
from gati_compiler.timescape.steps import HEAD, Step, ident, version_slug

HEADER: Final = "# Written by gatic transformers write (edits are kept); body "
PARTS: Final = ("body", "query", "params", "headers")


def body_hash(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def with_header(body: str) -> str:
    return f"{HEADER}{body_hash(body)}\n{body}"


def generated_body(text: str) -> str | None:
    """The body of a file `with_header` wrote and nobody edited since, else None."""
    first, sep, body = text.partition("\n")
    if not sep or not first.startswith(HEADER) or first.removeprefix(HEADER) != body_hash(body):
        return None
    return body


def py(value: object) -> str:
    """A JSON value as a Python literal in `ruff format`'s style (double quotes)."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(py(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{py(k)}: {py(v)}" for k, v in value.items()) + "}"
    return repr(value)


@dataclass
class Lit:
    """A dict literal being built: keys (Python literals) and values (expressions or literals)."""

    items: list[tuple[str, Node]] = field(default_factory=list)

    def flat(self) -> str:
        return "{" + ", ".join(f"{k}: {_flat(v)}" for k, v in self.items) + "}"

    def render(self, indent: int, prefix: int) -> str:
        """The literal at `indent` spaces, after `prefix` characters on its first line, broken
        one item per line (with a trailing comma) when it does not fit in 88 columns."""
        one = self.flat()
        if prefix + len(one) <= _WIDTH or not self.items:
            return one
        pad = " " * (indent + 4)
        rows = []
        for k, v in self.items:
            head = f"{pad}{k}: "
            rows.append(head + _render(v, indent + 4, len(head) + 1) + ",")
        return "{\n" + "\n".join(rows) + "\n" + " " * indent + "}"


@dataclass
class Comp:
    """A list comprehension converting each element: `[<element> for <var> in <iterable>]`."""

    element: Node
    var: str
    iterable: str

    def flat(self) -> str:
        return f"[{_flat(self.element)} for {self.var} in {self.iterable}]"

    def render(self, indent: int, prefix: int) -> str:
        one = self.flat()
        if prefix + len(one) <= _WIDTH:
            return one
        pad = " " * (indent + 4)
        element = _render(self.element, indent + 4, indent + 4)
        return f"[\n{pad}{element}\n{pad}for {self.var} in {self.iterable}\n{' ' * indent}]"


Node = str | Lit | Comp


def _flat(node: Node) -> str:
    return node if isinstance(node, str) else node.flat()


def _render(node: Node, indent: int, prefix: int) -> str:
    return node if isinstance(node, str) else node.render(indent, prefix)


_WIDTH: Final = 88


@dataclass
class StepCode:
    text: str
    complete: dict[str, bool] = field(default_factory=dict)  # "request" / "response" -> complete code
    functions: dict[str, str] = field(default_factory=dict)  # kind -> function name


def _resolve(g: GType | None, types: dict[str, GType]) -> GType | None:
    seen: set[str] = set()
    while isinstance(g, RefType) and g.ref not in seen:
        seen.add(g.ref)
        g = types.get(g.ref)
    return g


def _shape(g: GType | None, types: dict[str, GType], depth: int = 0) -> object:
    """A comparable form of a type with its refs expanded (descriptions and names dropped)."""
    g = _resolve(g, types)
    if g is None or depth > 12:
        return None
    data = g.model_dump(mode="json", exclude={"description", "name", "origin"})
    if isinstance(g, ObjectType):
        data["properties"] = [
            [p.name, p.required, _shape(p.type, types, depth + 1), p.hasDefault] for p in g.properties
        ]
    for key in ("items", "values", "keys"):
        sub = getattr(g, key, None)
        if isinstance(sub, RefType | ObjectType):
            data[key] = _shape(sub, types, depth + 1)
    if isinstance(g, EnumType):
        data = {"kind": "values", "values": sorted(compact_json(m.value) for m in g.members)}
    elif isinstance(g, LiteralType):
        data = {"kind": "values", "values": sorted(compact_json(v) for v in g.values)}
    return data


def _values(g: GType | None) -> list[object] | None:
    if isinstance(g, EnumType):
        return [m.value for m in g.members]
    if isinstance(g, LiteralType):
        return list(g.values)
    return None


@dataclass
class _Side:
    """Converts one value from the `src` segment's types to the `dst` segment's."""

    src_types: dict[str, GType]
    dst_types: dict[str, GType]
    lines: list[str] = field(default_factory=list)  # statements before the `out` literal
    after: list[str] = field(default_factory=list)  # statements after it (optional keys)
    counter: int = 0

    def value(self, expr: str, src: GType | None, dst: GType | None, indent: str = "    ") -> Node | None:
        """An expression of `dst`'s type from `expr` of `src`'s type, or None if not mechanical."""
        s, d = _resolve(src, self.src_types), _resolve(dst, self.dst_types)
        if _shape(s, self.src_types) == _shape(d, self.dst_types):
            return expr
        if isinstance(s, ObjectType) and isinstance(d, ObjectType):
            return self._inline(lambda: self.object(expr, s, d, None))
        if isinstance(s, ArrayType) and isinstance(d, ArrayType) and s.container == d.container == "list":
            self.counter += 1
            var = "item" if self.counter == 1 else f"item_{self.counter}"
            element = self._inline(lambda: self.value(var, s.items, d.items))
            return None if element is None else Comp(element, var, expr)
        if isinstance(s, PrimitiveType) and isinstance(d, PrimitiveType):
            if s.type == "integer" and d.type == "number" and d.format is None:
                return expr  # every int is a float on the wire
            return None
        old, new = _values(s), _values(d)
        if old is None or new is None:
            return None
        missing = [v for v in old if v not in new]
        if not missing:
            return expr  # a subset of the target's values
        added = [v for v in new if v not in old]
        if len(missing) != 1 or len(added) != 1:
            return None
        self.counter += 1
        var = f"value_{self.counter}"
        self.lines.append(f"{indent}{var} = {expr}")
        return f"{py(added[0])} if {var} == {py(missing[0])} else {var}"

    def _inline(self, build: Callable[[], Node | None]) -> Node | None:
        """`build()` as one expression: None when it needed statements of its own (a nested
        optional key, a mapped enum value)."""
        marks = (len(self.lines), len(self.after))
        node = build()
        if node is None or (len(self.lines), len(self.after)) != marks:
            del self.lines[marks[0] :], self.after[marks[1] :]
            return None
        return node

    def object(self, src_expr: str, src: GType | None, dst: GType | None, target: str | None) -> Node | None:
        """A dict literal of `dst`'s type (optional keys assigned to `target` afterwards; with no
        target, a literal that needs no such statement or None)."""
        s, d = _resolve(src, self.src_types), _resolve(dst, self.dst_types)
        if (
            not isinstance(s, ObjectType)
            or not isinstance(d, ObjectType)
            or _shape(s, self.src_types) == _shape(d, self.dst_types)
        ):
            return self.value(src_expr, src, dst)
        sprops = {p.name: p for p in s.properties}
        dprops = {p.name: p for p in d.properties}
        removed = [n for n in sprops if n not in dprops]
        added = [n for n in dprops if n not in sprops]
        source_of = {n: n for n in dprops if n in sprops}
        if len(removed) == 1:  # a rename: the one added property of the same type (a required one first)
            gone = _shape(sprops[removed[0]].type, self.src_types)
            same = [n for n in added if _shape(dprops[n].type, self.dst_types) == gone]
            if len(same) > 1:
                same = [n for n in same if dprops[n].required]
            if len(same) == 1:
                source_of[same[0]] = removed[0]
        lit = Lit()
        items = lit.items
        for name, dp in dprops.items():
            key = source_of.get(name)
            if key is None:
                if dp.required and dp.hasDefault:
                    items.append((py(name), py(dp.default)))
                elif dp.required:
                    return None  # a new required value nobody can derive
                continue
            sp = sprops[key]
            if sp.required:
                expr = self.value(f"{src_expr}[{py(key)}]", sp.type, dp.type)
                if expr is None:
                    return None
                items.append((py(name), expr))
            elif dp.required:
                copied = self.value(f"{src_expr}[{py(key)}]", sp.type, dp.type)
                if not dp.hasDefault or copied != f"{src_expr}[{py(key)}]":
                    return None
                items.append((py(name), f"{src_expr}.get({py(key)}, {py(dp.default)})"))
            elif target is None:
                return None
            else:
                self.after.append(f"    if {py(key)} in {src_expr}:")
                mark = len(self.lines)
                expr = self.value(f"{src_expr}[{py(key)}]", sp.type, dp.type, indent="        ")
                if not isinstance(expr, str):
                    return None
                self.after.extend(self.lines[mark:])
                del self.lines[mark:]
                self.after.append(f"        {target}[{py(name)}] = {expr}")
        return lit


def _todo(findings: list[Finding]) -> list[str]:
    """The findings as `# TODO` comments, wrapped to fit in 88 columns."""
    out: list[str] = []
    for f in findings:
        out += textwrap.wrap(
            f"TODO [{f.rule}] {f.message}",
            width=_WIDTH,
            initial_indent="    # ",
            subsequent_indent="    #   ",
            break_long_words=False,
            break_on_hyphens=False,
        )
    return out or ["    # TODO convert the value"]


def _request_body(step: Step) -> list[str] | None:
    old, new = step.old.contract, step.new.contract
    side = _Side(dict(step.old.api.gtypes), dict(step.new.api.gtypes))
    out = Lit()
    for part, field_name in zip(PARTS, ("request", "query", "params", "headers"), strict=True):
        src, dst = getattr(old, field_name), getattr(new, field_name)
        if dst is None:
            continue
        if src is None:
            return None
        lit = side.object(f'request["{part}"]', src, dst, f'out["{part}"]')
        if lit is None:
            return None
        out.items.append((py(part), lit))
    body = list(side.lines)
    if side.after:
        body.append("    out: NewRequest = " + out.render(4, len("    out: NewRequest = ")))
        body.extend(side.after)
        body.append("    return out")
    else:
        body.append("    return " + out.render(4, len("    return ")))
    return body


def _response_body(step: Step) -> list[str] | None:
    old, new = step.old.contract, step.new.contract
    if old.response is None:
        return ["    return None"] if new.response is None else None
    side = _Side(dict(step.new.api.gtypes), dict(step.old.api.gtypes))
    lit = side.object("response", new.response, old.response, "out")
    if lit is None:
        return None
    body = list(side.lines)
    if side.after:
        body.append("    out: OldResponse = " + _text(lit, len("    out: OldResponse = ")))
        body.extend(side.after)
        body.append("    return out")
    else:
        body.append("    return " + _text(lit, len("    return ")))
    return body


def _text(lit: Node, prefix: int) -> str:
    return _render(lit, 4, prefix)


def version_arg(step: Step, tags: dict[str, tuple[str, ...]]) -> str:
    """How the decorator names the step's from version: its first tag, else its TSV."""
    found = tags.get(step.from_tsv, ())
    return found[0] if found else step.from_tsv


def render_step(step: Step, sides: tuple[bool, bool], tags: dict[str, tuple[str, ...]]) -> StepCode:
    """The module holding the transformers of the `sides` (request, response) of `step`."""
    version = version_arg(step, tags)
    suffix = ident(version) if version != step.from_tsv else version_slug(step.from_tsv)
    hid = ident(step.handler_id)
    findings = [f for f in step.findings if f.level.value == "ERR" and f.category.value == "WIRE"]
    code = StepCode(text="")
    names: list[str] = []
    markers: list[str] = []
    blocks: list[list[str]] = []
    if sides[0]:
        fn = f"{hid}_from_{suffix}"
        body = _request_body(step)
        code.complete["request"] = body is not None
        code.functions["request"] = fn
        if body is None:
            body = [*_todo([f for f in findings if f.side != "response"]), "    raise NotImplementedError"]
        names += ["NewRequest", "OldRequest"]
        markers.append("upgrade_request")
        header = f"@upgrade_request({py(step.handler_id)}, {py(version)})"
        blocks.append([header, f"def {fn}(request: OldRequest) -> NewRequest:", *body])
    if sides[1]:
        fn = f"{hid}_to_{suffix}"
        body = _response_body(step)
        code.complete["response"] = body is not None
        code.functions["response"] = fn
        if body is None:
            body = [*_todo([f for f in findings if f.side == "response"]), "    raise NotImplementedError"]
        names += ["NewResponse", "OldResponse"]
        markers.append("downgrade_response")
        header = f"@downgrade_response({py(step.handler_id)}, {py(version)})"
        blocks.append([header, f"def {fn}(response: NewResponse) -> OldResponse:", *body])
    lines = [
        f'"""Transformers of `{step.handler_id}` between {version} and {_next(step)}."""',
        "",
        "from __future__ import annotations",
        "",
        "from typing import TYPE_CHECKING",
        "",
        f"from gati_runtime_min.timescape import {', '.join(sorted(markers))}",
        "",
        "if TYPE_CHECKING:",
        _import(f"gati_versions.steps.{step.module}", sorted(names)),
    ]
    for block in blocks:
        lines += ["", "", *block]
    code.text = with_header("\n".join(lines) + "\n")
    return code


def _next(step: Step) -> str:
    return "the working tree's contract" if step.to_tsv == HEAD else f"the contract of {step.to_tsv}"


def _import(module: str, names: list[str]) -> str:
    """`from module import a, b` indented under `if TYPE_CHECKING:`, wrapped as `ruff format` does."""
    one = f"    from {module} import {', '.join(names)}"
    if len(one) <= _WIDTH:
        return one
    return f"    from {module} import (\n" + "".join(f"        {n},\n" for n in names) + "    )"
