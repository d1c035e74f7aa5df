"""Shared pieces of the validator generator: module state, naming, and the function writer base.

Input: GTypes, the named-type table and an optional class map. Output: nothing by itself; the
`_valscalar`/`_valcontainer` mixins emit code through `GenBase`, and `_valgen` ties them together.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal, assert_never

from gati_compiler.emit._valwriter import CodeWriter
from gati_compiler.emit.render import py_ident, py_str
from gati_compiler.ir.canonical import reachable
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

Direction = Literal["dec", "enc"]
ClassKind = Literal["typeddict", "dataclass", "model", "enum"]

FAIL: Final = "return _FAIL"
INLINE_DEPTH: Final = 2
INLINE_FIELDS_COLLECTING: Final = 4
INLINE_FIELDS: Final = 8
FORMAT_NAMES: Final = {
    "date-time": "datetime",
    "date": "date",
    "time": "time",
    "duration": "timedelta",
    "uuid": "uuid",
    "decimal": "decimal",
    "bytes": "bytes",
}
ENCODE_FORMAT: Final = {
    "date-time": ("_datetime", "{s}.isoformat()"),
    "date": ("_date", "{s}.isoformat()"),
    "time": ("_time", "{s}.isoformat()"),
    "duration": ("_timedelta", "_iso_duration({s})"),
    "uuid": ("_UUID", "str({s})"),
    "bytes": ("bytes", "{s}.decode()"),
}
_PLAIN_LITERAL: Final = re.compile(r'"[^"\\{}]*"')  # a double-quoted literal without escapes
_QUOTED_LITERAL: Final = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'')  # any one-line literal
SHOW_ACTUAL: Final = frozenset({"enum", "literal", "union_tag", "format", "union"})
JSON_TYPE: Final = {"null": "null", "boolean": "bool", "integer": "int", "number": "float", "string": "str"}


@dataclass(frozen=True)
class ClassTarget:
    """Build the named type as this class instead of its GType `origin`."""

    module: str
    name: str
    kind: ClassKind


@dataclass
class Job:
    key: str
    gtype: GType
    direction: Direction
    owner: str | None
    fast: str
    slow: str


@dataclass
class ModuleState:
    """Everything the generated module needs besides its functions, filled while generating."""

    gtypes: Mapping[str, GType]
    class_map: Mapping[str, ClassTarget]
    imports: dict[str, str] = field(default_factory=dict)
    early: list[str] = field(default_factory=list)
    late: list[str] = field(default_factory=list)
    functions: list[str] = field(default_factory=list)
    _names: dict[tuple[Direction, str], tuple[str, str]] = field(default_factory=dict)
    _used: set[str] = field(default_factory=set)
    _consts: dict[str, str] = field(default_factory=dict)
    _queue: list[Job] = field(default_factory=list)
    _recursive: dict[str, bool] = field(default_factory=dict)
    # `GenBase.issue` output by its arguments and indentation level
    issue_lines: dict[tuple[str, str, str, str, str | None, int, bool], tuple[str, ...]] = field(default_factory=dict)
    # `FunctionGen.gen` results by every input they depend on (the GType by identity, kept alive here)
    gen_cache: dict[tuple[object, ...], tuple[GType, tuple[str, ...], str, int]] = field(default_factory=dict)

    def module_alias(self, module: str) -> str:
        if module not in self.imports:
            self.imports[module] = f"_m{len(self.imports)}"
        return self.imports[module]

    def class_expr(self, module: str, qualname: str) -> str:
        return self.module_alias(module) + "." + qualname

    def const(self, prefix: str, expr_lines: list[str], late: bool = False) -> str:
        """A module-level `Final` constant, deduplicated by its source text."""
        key = "\n".join(expr_lines)
        if key in self._consts:
            return self._consts[key]
        name = f"_{prefix}{len(self._consts)}"
        self._consts[key] = name
        target = self.late if late else self.early
        target.append(f"{name}: Final = " + "\n".join(expr_lines))
        return name

    def frozen(self, prefix: str, items: list[str]) -> str:
        """A `frozenset` constant of literal items, one line when it fits."""
        flat = "frozenset({" + ", ".join(items) + "})" if items else "frozenset()"
        if len(flat) + len(prefix) + 14 <= 84:
            return self.const(prefix, [flat])
        return self.const(prefix, ["frozenset(", "    {", *[f"        {item}," for item in items], "    }", ")"])

    def record(self, items: list[str]) -> str:
        """A tuple constant of literal items (an issue's code, expected and message), deduplicated."""
        flat = "(" + ", ".join(items) + ")"
        if len(flat) + 16 <= 88:
            return self.const("E", [flat])
        return self.const("E", ["(", *[f"    {item}," for item in items], ")"])

    def regex(self, pattern: str) -> str:
        literal = py_str(ecma_anchors(pattern))
        if len(literal) > 50:
            return self.const("RE", ["re.compile(", f"    {literal},", ")"])
        return self.const("RE", [f"re.compile({literal})"])

    def functions_for(self, gtype: GType, direction: Direction, owner: str | None = None) -> tuple[str, str]:
        """Names of the fast and slow function for `gtype`, queueing its generation once."""
        if isinstance(gtype, RefType):
            key, owner, stem = "ref:" + gtype.ref, gtype.ref, gtype.ref
            gtype = self.gtypes[gtype.ref]
        else:
            key, stem = gtype.model_dump_json(), "anon"
        found = self._names.get((direction, key))
        if found is not None:
            return found
        base = f"_{direction}_{py_ident(stem)}"
        name, n = base, 1
        while name in self._used:
            n += 1
            name = f"{base}_{n}"
        self._used.add(name)
        names = (name, name + "_c")
        self._names[(direction, key)] = names
        self._queue.append(Job(key, gtype, direction, owner, names[0], names[1]))
        return names

    def drain(self, make: Callable[[ModuleState, Direction, bool], GenBase]) -> None:
        """Generate every queued function (fast and slow); generating may queue more."""
        while self._queue:
            job = self._queue.pop(0)
            for fast in (True, False):
                self.functions.append(make(self, job.direction, fast).function(job, job.fast if fast else job.slow))

    def is_recursive(self, ref: str) -> bool:
        """Whether the named type can reach itself through refs."""
        if ref not in self._recursive:
            self._recursive[ref] = ref in reachable([self.gtypes[ref]], self.gtypes)
        return self._recursive[ref]

    def deref(self, gtype: GType) -> GType:
        seen: set[str] = set()
        while isinstance(gtype, RefType) and gtype.ref not in seen:
            seen.add(gtype.ref)
            gtype = self.gtypes[gtype.ref]
        return gtype


def merge_ranges(conditions: list[str]) -> list[str]:
    """Fold `x < a` and `x > b` (any strictness) into one `not a <= x <= b`: one `len()` call and
    one test on the hot path. Only fast-path conditions go through here; issue codes are unaffected."""
    if len(conditions) < 2:
        return list(conditions)
    lower: dict[str, tuple[int, str, str]] = {}
    upper: dict[str, tuple[int, str, str]] = {}
    for index, cond in enumerate(conditions):
        parts = cond.split(" ")
        if len(parts) == 3 and parts[1] in ("<", "<="):
            lower.setdefault(parts[0], (index, parts[1], parts[2]))
        elif len(parts) == 3 and parts[1] in (">", ">="):
            upper.setdefault(parts[0], (index, parts[1], parts[2]))
    out = list(conditions)
    drop: set[int] = set()
    for subject, (i, low_op, low) in lower.items():
        if subject not in upper:
            continue
        j, high_op, high = upper[subject]
        first = "<=" if low_op == "<" else "<"
        second = "<=" if high_op == ">" else "<"
        out[i] = f"not {low} {first} {subject} {second} {high}"
        drop.add(j)
    return [cond for index, cond in enumerate(out) if index not in drop]


def ecma_anchors(pattern: str) -> str:
    """`$` as ECMA-262 and pydantic's regex engine read it: end of input, never before a final
    newline (Python's `$` also matches there). Escapes and character classes are left alone."""
    out: list[str] = []
    in_class = escaped = False
    for ch in pattern:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "$":
            out.append("\\Z")
            continue
        out.append(ch)
    return "".join(out)


def describe(gtype: GType, gtypes: Mapping[str, GType]) -> str:
    """The msgspec-style name of what a GType expects, without backticks."""
    match gtype:
        case PrimitiveType():
            if gtype.format in FORMAT_NAMES:
                return FORMAT_NAMES[gtype.format]
            return JSON_TYPE[gtype.type]
        case LiteralType():
            return " | ".join(json.dumps(v) for v in gtype.values)
        case EnumType():
            return gtype.name
        case ObjectType() | MapType() | IntersectionType():
            return "object"
        case ArrayType() | TupleType():
            return "array"
        case UnionType():
            return " | ".join(describe(o, gtypes) for o in gtype.options)
        case RefType():
            target = gtypes.get(gtype.ref)
            return "object" if target is None else describe(target, gtypes)
        case AnyType():
            return "any"
        case _:
            assert_never(gtype)


def json_types(gtype: GType, gtypes: Mapping[str, GType], depth: int = 0) -> frozenset[str]:
    """The JSON value types (as `_jtype` names) a GType can accept; drives union error reports."""
    match gtype:
        case PrimitiveType():
            if gtype.format == "decimal":
                return frozenset({"int", "float", "str"})
            if gtype.type == "integer":
                return frozenset({"int", "float"})
            if gtype.type == "number":
                return frozenset({"int", "float"})
            return frozenset({JSON_TYPE[gtype.type]})
        case LiteralType():
            return frozenset(value_jtype(v) for v in gtype.values)
        case EnumType():
            return frozenset(value_jtype(m.value) for m in gtype.members)
        case ObjectType() | MapType() | IntersectionType():
            return frozenset({"object"})
        case ArrayType() | TupleType():
            return frozenset({"array"})
        case UnionType():
            out: frozenset[str] = frozenset()
            for option in gtype.options:
                out |= json_types(option, gtypes, depth + 1)
            return out
        case RefType():
            if depth > 20 or gtype.ref not in gtypes:
                return frozenset({"object", "array"})
            return json_types(gtypes[gtype.ref], gtypes, depth + 1)
        case AnyType():
            return frozenset({"null", "bool", "int", "float", "str", "array", "object"})
        case _:
            assert_never(gtype)


def value_jtype(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    return "str"


def py_literal(value: object) -> str:
    """Python source for a JSON value (fresh containers each evaluation)."""
    if isinstance(value, str):
        return py_str(value)
    if isinstance(value, list):
        return "[" + ", ".join(py_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{py_str(str(k))}: {py_literal(v)}" for k, v in value.items()) + "}"
    return repr(value)


def union_priority(gtype: GType) -> int:
    if isinstance(gtype, PrimitiveType) and gtype.format is None:
        return {"null": 0, "boolean": 1, "integer": 2, "number": 3, "string": 4}[gtype.type]
    return 5


class GenBase:
    """Writes one function. `gen` emits checks for a value held in a local and returns the
    expression of its converted form; in slow mode that expression is always defined."""

    def __init__(self, state: ModuleState, direction: Direction, fast: bool) -> None:
        self.state = state
        self.enc = direction == "enc"
        self.direction: Direction = direction
        self.fast = fast
        self.w = CodeWriter(1)
        self._n = 0
        self._inlining: list[str] = []

    # -- plumbing -------------------------------------------------------------------------

    def _inlinable(self, ref: str, target: GType) -> bool:
        if ref in self._inlining or len(self._inlining) >= INLINE_DEPTH or self.w.level > 6:
            return False
        if isinstance(target, EnumType | LiteralType | PrimitiveType):
            return True
        # the collecting path runs on invalid input only: it expands just the smallest objects,
        # which keeps error reporting fast without doubling the module's size
        limit = INLINE_FIELDS if self.fast else INLINE_FIELDS_COLLECTING
        if not isinstance(target, ObjectType) or len(target.properties) > limit:
            return False
        return not self.state.is_recursive(ref)

    def function(self, job: Job, name: str) -> str:
        params = ["v: Any"] if self.fast else ["v: Any", "path: str", "issues: list[Issue]"]
        header = f"def {name}(" + ", ".join(params) + ") -> Any:"
        if len(header) > 84:
            header = f"def {name}(\n" + "".join(f"    {p},\n" for p in params) + ") -> Any:"
        result = self.gen(job.gtype, "v", "path", job.owner)
        self.w.line(f"return {result}")
        return header + "\n" + self.w.text().rstrip("\n")

    def tmp(self, prefix: str = "t") -> str:
        self._n += 1
        return f"{prefix}{self._n}"

    def issue(
        self, path: str, code: str, expected: str, value: str, message: str | None = None, number: bool = False
    ) -> None:
        """`message` is a Python expression; by default the runtime derives it from code and expected.
        `number`: the value is known to be an `int` or a `float` (a bound check), a cheaper report."""
        # the same few hundred issue calls recur tens of thousands of times: reuse their lines
        lines = self.w.lines
        key = (path, code, expected, value, message, self.w.level, number)
        found = self.state.issue_lines.get(key)
        if found is not None:
            lines.extend(found)
            return
        mark = len(lines)
        self._issue(path, code, expected, value, message, number)
        self.state.issue_lines[key] = tuple(lines[mark:])

    def _issue(self, path: str, code: str, expected: str, value: str, message: str | None, number: bool) -> None:
        if code == "type" and message is None:
            self.w.call("_type(", ["issues", path, py_str(expected), value])
            return
        if message is None and code not in SHOW_ACTUAL:
            message = py_str("Expected " + expected)
        if message is None:  # the message quotes the value: the runtime writes it
            what = self.state.record([py_str(code), py_str(expected)])
            self.w.call("_show(", ["issues", path, what, value])
        elif _QUOTED_LITERAL.fullmatch(message):
            what = self.state.record([py_str(code), py_str(expected), message])
            self.w.call("_bad_num(" if number else "_bad(", ["issues", path, what, value])
        else:  # a message built at run time
            self.w.call("_add(", ["issues", path, py_str(code), py_str(expected), value, message])

    def check(self, bad: str, path: str, code: str, expected: str, value: str, number: bool = False) -> None:
        """Fast: fail on `bad`. Slow: record an issue on `bad` and carry on."""
        if self.fast:
            self.w.fail_if([bad], FAIL)
            return
        self.w.line(f"if {bad}:")
        with self.w.indent():
            self.issue(path, code, expected, value, number=number)

    def type_guard(self, bad: str, path: str, expected: str, value: str) -> bool:
        """Emit the type check. Returns True when the caller must write its body under `else:`."""
        if self.fast:
            self.w.fail_if([bad], FAIL)
            return False
        self.w.line(f"if {bad}:")
        with self.w.indent():
            self.issue(path, "type", f"`{expected}`", value)
        self.w.line("else:")
        return True

    def out_var(self, prefix: str = "o") -> str:
        name = self.tmp(prefix)
        if not self.fast:
            self.w.line(f"{name}: Any = None")
        return name

    def path_var(self, path: str) -> str:
        if self.fast or path.isidentifier():
            return path
        name = self.tmp("p")
        self.w.line(f"{name} = {path}")
        return name

    @staticmethod
    def child(path: str, key: str) -> str:
        """The expression of `path`'s member `key`; a literal suffix of `path` is extended in place."""
        suffix = "." + key if key.isidentifier() else "[" + json.dumps(key, ensure_ascii=False) + "]"
        literal = py_str(suffix)
        if _PLAIN_LITERAL.fullmatch(literal):
            head, plus, last = path.rpartition(" + ")
            if plus and _PLAIN_LITERAL.fullmatch(last):
                return f"{head} + {last[:-1]}{literal[1:]}"
            if path.startswith('f"') and path.endswith('"') and '"' not in path[2:-1]:  # an item's f-string
                return path[:-1] + literal[1:]
        return f"{path} + {literal}"

    def items_code(self, items: GType, x: str, path: str) -> tuple[list[str], str]:
        """Generate item code into a side writer: (lines, result expression)."""
        saved = self.w
        self.w = CodeWriter(saved.level + 1)
        try:
            result = self.gen(items, x, path)
            return self.w.lines, result
        finally:
            self.w = saved

    def gen(self, t: GType, s: str, path: str, owner: str | None = None) -> str:
        """Emit checks for the value in local `s`; return the expression of its converted form."""
        raise NotImplementedError
