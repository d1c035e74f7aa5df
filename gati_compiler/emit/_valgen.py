"""Function bodies of the generated decoders and encoders, one GType at a time.

Input: GTypes, the named-type table and an optional class map. Output: Python source text for
module-level functions and constants (the module skeleton is a template). Every named or
anonymous type gets a fast function (raises `_Fail`, allocates no issue) and a slow one (collects
every issue); both are written by the same walk, switched by `fast`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal, assert_never

from gati_compiler.emit._valwriter import CodeWriter
from gati_compiler.emit.render import py_ident, py_str
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
from gati_compiler.ir.jsonschema import merge_intersection

Direction = Literal["dec", "enc"]
ClassKind = Literal["typeddict", "dataclass", "model", "enum"]

_FAIL: Final = "raise _Fail"
_FORMAT_NAMES: Final = {
    "date-time": "datetime",
    "date": "date",
    "time": "time",
    "duration": "timedelta",
    "uuid": "uuid",
    "decimal": "decimal",
    "bytes": "bytes",
}
_ENCODE_FORMAT: Final = {
    "date-time": ("_datetime", "{s}.isoformat()"),
    "date": ("_date", "{s}.isoformat()"),
    "time": ("_time", "{s}.isoformat()"),
    "duration": ("_timedelta", "_iso_duration({s})"),
    "uuid": ("_UUID", "str({s})"),
    "bytes": ("bytes", "{s}.decode()"),
}
_JSON_TYPE: Final = {"null": "null", "boolean": "bool", "integer": "int", "number": "float", "string": "str"}


@dataclass(frozen=True)
class ClassTarget:
    """Build the named type as this class instead of its GType `origin`."""

    module: str
    name: str
    kind: ClassKind


@dataclass
class _Job:
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
    _queue: list[_Job] = field(default_factory=list)

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

    def regex(self, pattern: str) -> str:
        literal = py_str(pattern)
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
        self._queue.append(_Job(key, gtype, direction, owner, names[0], names[1]))
        return names

    def drain(self) -> None:
        while self._queue:
            job = self._queue.pop(0)
            for fast in (True, False):
                gen = _FunctionGen(self, job.direction, fast)
                self.functions.append(gen.function(job, job.fast if fast else job.slow))

    def deref(self, gtype: GType) -> GType:
        seen: set[str] = set()
        while isinstance(gtype, RefType) and gtype.ref not in seen:
            seen.add(gtype.ref)
            gtype = self.gtypes[gtype.ref]
        return gtype


def describe(gtype: GType, gtypes: Mapping[str, GType]) -> str:
    """The msgspec-style name of what a GType expects, without backticks."""
    match gtype:
        case PrimitiveType():
            if gtype.format in _FORMAT_NAMES:
                return _FORMAT_NAMES[gtype.format]
            return _JSON_TYPE[gtype.type]
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
            return frozenset({_JSON_TYPE[gtype.type]})
        case LiteralType():
            return frozenset(_value_jtype(v) for v in gtype.values)
        case EnumType():
            return frozenset(_value_jtype(m.value) for m in gtype.members)
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


def _value_jtype(value: object) -> str:
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


def _union_priority(gtype: GType) -> int:
    if isinstance(gtype, PrimitiveType) and gtype.format is None:
        return {"null": 0, "boolean": 1, "integer": 2, "number": 3, "string": 4}[gtype.type]
    return 5


class _FunctionGen:
    """Writes one function. `gen` emits checks for a value held in a local and returns the
    expression of its converted form; in slow mode that expression is always defined."""

    def __init__(self, state: ModuleState, direction: Direction, fast: bool) -> None:
        self.state = state
        self.enc = direction == "enc"
        self.direction: Direction = direction
        self.fast = fast
        self.w = CodeWriter(1)
        self._n = 0

    # -- plumbing -------------------------------------------------------------------------

    def function(self, job: _Job, name: str) -> str:
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

    def issue(self, path: str, code: str, expected: str, value: str, message: str | None = None) -> None:
        """`message` is a Python expression; by default the runtime derives it from code and expected."""
        args = ["issues", path, py_str(code), py_str(expected), value]
        if message is not None:
            args.append(message)
        self.w.call("_add(", args)

    def check(self, bad: str, path: str, code: str, expected: str, value: str) -> None:
        """Fast: fail on `bad`. Slow: record an issue on `bad` and carry on."""
        if self.fast:
            self.w.fail_if([bad], _FAIL)
            return
        self.w.line(f"if {bad}:")
        with self.w.indent():
            self.issue(path, code, expected, value)

    def type_guard(self, bad: str, path: str, expected: str, value: str) -> bool:
        """Emit the type check. Returns True when the caller must write its body under `else:`."""
        if self.fast:
            self.w.fail_if([bad], _FAIL)
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
        suffix = "." + key if key.isidentifier() else "[" + json.dumps(key, ensure_ascii=False) + "]"
        return f"{path} + {py_str(suffix)}"

    # -- dispatch -------------------------------------------------------------------------

    def gen(self, t: GType, s: str, path: str, owner: str | None = None) -> str:
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
                fast, slow = self.state.functions_for(t, self.direction)
                if self.fast:
                    return f"{fast}({s})"
                out = self.tmp("r")
                self.w.line(f"{out} = {slow}({s}, {path}, issues)")
                return out
            case AnyType():
                return s
            case _:
                assert_never(t)

    # -- scalars --------------------------------------------------------------------------

    def primitive(self, t: PrimitiveType, s: str, path: str) -> str:
        if t.type == "null":
            self.check(f"{s} is not None", path, "type", "`null`", s)
            return s
        if t.type == "boolean":
            self.check(f"type({s}) is not bool", path, "type", "`bool`", s)
            return s
        if t.format == "decimal":
            return self.decimal(t, s, path)
        if t.type == "integer":
            return self.integer(t, s, path)
        if t.type == "number":
            return self.number(t, s, path)
        if t.format in _ENCODE_FORMAT or (t.format == "bytes"):
            return self.formatted(t, s, path)
        return self.string(t, s, path)

    def integer(self, t: PrimitiveType, s: str, path: str) -> str:
        if self.fast:
            self.w.fail_if([f"type({s}) is not int", *(c for c, _, _ in self.bounds(t, s, "int"))], _FAIL)
            return s
        v = self.tmp("n")
        self.w.line(f"{v}: Any = _enc_int({s})" if self.enc else f"{v}: Any = _as_int({s})")
        if self.type_guard(f"type({v}) is not int", path, "int", v):
            with self.w.indent():
                self.bound_checks(t, v, path, "int")
        return v

    def number(self, t: PrimitiveType, s: str, path: str) -> str:
        v = self.out_var("f")
        self.w.line(f"if type({s}) is float:")
        with self.w.indent():
            self.w.line(f"{v} = {s}")
        self.w.line(f"elif type({s}) is int:")
        with self.w.indent():
            self.w.line(f"{v} = {s}" if self.enc else f"{v} = float({s})")
        self.w.line("else:")
        with self.w.indent():
            if self.fast:
                self.w.line(_FAIL)
            else:
                self.issue(path, "type", "`float`", s)
        if self.fast:
            self.w.fail_if([c for c, _, _ in self.bounds(t, v, "float")], _FAIL)
        else:
            self.w.line(f"if {v} is not None:")
            with self.w.indent():
                self.bound_checks(t, v, path, "float")
        return v

    def decimal(self, t: PrimitiveType, s: str, path: str) -> str:
        v = self.out_var("d")
        if self.enc:
            ok = f"isinstance({s}, (_Decimal, int, float)) and type({s}) is not bool"
            self.w.line(f"if {ok}:")
            with self.w.indent():
                self.w.line(f"{v} = str({s}) if isinstance({s}, _Decimal) else {s}")
            self.w.line("else:")
            with self.w.indent():
                if self.fast:
                    self.w.line(_FAIL)
                else:
                    self.issue(path, "type", "`decimal`", s)
            return v
        self.w.line(f"{v} = _parse_decimal({s})")
        if self.fast:
            self.w.fail_if([f"{v} is None", *(c for c, _, _ in self.bounds(t, v, "decimal"))], _FAIL)
            return v
        self.w.line(f"if {v} is None:")
        with self.w.indent():
            self.issue(path, "type", "`decimal`", s)
        self.w.line("else:")
        with self.w.indent():
            self.bound_checks(t, v, path, "decimal")
        return v

    def bounds(self, t: PrimitiveType, v: str, name: str) -> list[tuple[str, str, str]]:
        """(bad-condition, code, expected) for each numeric constraint."""
        out: list[tuple[str, str, str]] = []
        if t.minimum is not None:
            out.append((f"{v} < {t.minimum!r}", "minimum", f"`{name}` >= {t.minimum!r}"))
        if t.exclusiveMinimum is not None:
            out.append((f"{v} <= {t.exclusiveMinimum!r}", "exclusive_minimum", f"`{name}` > {t.exclusiveMinimum!r}"))
        if t.maximum is not None:
            out.append((f"{v} > {t.maximum!r}", "maximum", f"`{name}` <= {t.maximum!r}"))
        if t.exclusiveMaximum is not None:
            out.append((f"{v} >= {t.exclusiveMaximum!r}", "exclusive_maximum", f"`{name}` < {t.exclusiveMaximum!r}"))
        if t.multipleOf is not None:
            m = t.multipleOf
            bad = f"{v} % {m!r}" if isinstance(m, int) and name == "int" else f"_not_multiple({v}, {m!r})"
            out.append((bad, "multiple_of", f"`{name}` that is a multiple of {m!r}"))
        return out

    def bound_checks(self, t: PrimitiveType, v: str, path: str, name: str) -> None:
        for bad, code, expected in self.bounds(t, v, name):
            self.check(bad, path, code, expected, v)

    def string_checks(self, t: PrimitiveType, s: str) -> list[tuple[str, str, str]]:
        out: list[tuple[str, str, str]] = []
        if t.minLength is not None:
            out.append((f"len({s}) < {t.minLength}", "min_length", f"`str` of length >= {t.minLength}"))
        if t.maxLength is not None:
            out.append((f"len({s}) > {t.maxLength}", "max_length", f"`str` of length <= {t.maxLength}"))
        if t.pattern is not None:
            regex = self.state.regex(t.pattern)
            out.append((f"{regex}.search({s}) is None", "pattern", f"`str` matching regex {py_str(t.pattern)}"))
        return out

    def string(self, t: PrimitiveType, s: str, path: str) -> str:
        checks = self.string_checks(t, s)
        if self.fast:
            self.w.fail_if([f"type({s}) is not str", *(c for c, _, _ in checks)], _FAIL)
            return s
        v = s
        if self.enc:
            v = self.tmp("s")
            self.w.line(f"{v}: Any = _enc_str({s})")
            checks = self.string_checks(t, v)
        if self.type_guard(f"type({v}) is not str", path, "str", v):
            with self.w.indent():
                for bad, code, expected in checks:
                    self.check(bad, path, code, expected, v)
        return v

    def formatted(self, t: PrimitiveType, s: str, path: str) -> str:
        fmt = t.format or ""
        name = _FORMAT_NAMES[fmt]
        v = self.out_var("x")
        if self.enc:
            cls, expr = _ENCODE_FORMAT[fmt]
            bad = f"not isinstance({s}, {cls})"
            if fmt == "date":
                bad += f" or isinstance({s}, _datetime)"
            if self.type_guard(bad, path, name, s):
                with self.w.indent():
                    self.w.line(f"{v} = " + expr.format(s=s))
            else:
                self.w.line(f"{v} = " + expr.format(s=s))
            return v
        checks = self.string_checks(t, s)
        parse = f"{s}.encode()" if fmt == "bytes" else f"_parse_{py_ident(fmt)}({s})"
        if self.fast:
            self.w.fail_if([f"type({s}) is not str", *(c for c, _, _ in checks)], _FAIL)
            self.w.line(f"{v} = {parse}")
            if fmt != "bytes":
                self.w.fail_if([f"{v} is None"], _FAIL)
            return v
        if self.type_guard(f"type({s}) is not str", path, name, s):
            with self.w.indent():
                for bad, code, expected in checks:
                    self.check(bad, path, code, expected, s)
                self.w.line(f"{v} = {parse}")
                if fmt != "bytes":
                    self.check(f"{v} is None", path, "format", f"`{name}`", s)
        return v

    def literal(self, t: LiteralType, s: str, path: str) -> str:
        has_int = any(type(v) is int for v in t.values)
        v = s
        if not self.fast and has_int and not self.enc:
            v = self.tmp("n")
            self.w.line(f"{v}: Any = _as_int({s})")
        good = self.membership(list(t.values), v)
        expected = "`" + describe(t, self.state.gtypes) + "`"
        if self.fast:
            self.w.fail_if([f"not ({good})"], _FAIL)
        else:
            self.w.line(f"if not ({good}):")
            with self.w.indent():
                self.issue(path, "literal", expected, v)
        return v

    def membership(self, values: list[str | int | float | bool | None], v: str) -> str:
        """A condition true when `v` equals one of `values` by JSON type and value."""
        conds: list[str] = []
        strs = [x for x in values if isinstance(x, str)]
        ints = [x for x in values if type(x) is int]
        floats = [x for x in values if type(x) is float]
        if strs:
            if len(strs) <= 3:
                conds.extend(f"{v} == {py_str(x)}" for x in strs)
            else:
                name = self.state.frozen("S", [py_str(x) for x in sorted(strs)])
                conds.append(f"(type({v}) is str and {v} in {name})")
        for typ, group in (("int", ints), ("float", floats)):
            if not group:
                continue
            if len(group) == 1:
                conds.append(f"(type({v}) is {typ} and {v} == {group[0]!r})")
            else:
                name = self.state.frozen("N", [repr(x) for x in sorted(group)])
                conds.append(f"(type({v}) is {typ} and {v} in {name})")
        for special in (True, False, None):
            if any(x is special for x in values):
                conds.append(f"{v} is {special!r}")
        return " or ".join(conds) if conds else "False"

    def enum(self, t: EnumType, s: str, path: str, owner: str | None) -> str:
        cls = self.enum_class(t, owner)
        expected = f"`{t.name}`"
        if self.enc:
            v = self.tmp("e")
            if cls is not None:
                self.w.line(f"{v} = {s}.value if isinstance({s}, {cls}) else {s}")
            else:
                self.w.line(f"{v} = {s}")
            good = self.membership([m.value for m in t.members], v)
            if self.fast:
                self.w.fail_if([f"not ({good})"], _FAIL)
            else:
                self.w.line(f"if not ({good}):")
                with self.w.indent():
                    self.issue(path, "enum", expected, v)
            return v
        groups: dict[str, list[str]] = {}
        for member in t.members:
            typ = _value_jtype(member.value)
            target = f"{cls}[{py_str(member.name)}]" if cls is not None else py_literal(member.value)
            groups.setdefault(typ, []).append(f"    {py_literal(member.value)}: {target},")
        lookups: list[str] = []
        for typ in sorted(groups):
            table = self.state.const("EN", ["{", *groups[typ], "}"])
            lookups.append(f"{table}.get({s}) if type({s}) is {typ}")
        src = s
        if not self.fast and "int" in groups:
            src = self.tmp("n")
            self.w.line(f"{src}: Any = _as_int({s})")
            lookups = [lk.replace(f"({s})", f"({src})") for lk in lookups]
        v = self.tmp("e")
        expr = " else ".join(lookups) + " else None"
        if self.w.fits(f"{v}: Any = {expr}"):
            self.w.line(f"{v}: Any = {expr}")
        else:
            self.w.line(f"{v}: Any = None")
            for typ in sorted(groups):
                table = self.state.const("EN", ["{", *groups[typ], "}"])
                self.w.line(f"if type({src}) is {typ}:")
                with self.w.indent():
                    self.w.line(f"{v} = {table}.get({src})")
        if self.fast:
            self.w.fail_if([f"{v} is None"], _FAIL)
        else:
            self.w.line(f"if {v} is None:")
            with self.w.indent():
                self.issue(path, "enum", expected, src)
        return v

    def enum_class(self, t: EnumType, owner: str | None) -> str | None:
        target = self.state.class_map.get(owner) if owner is not None else None
        if target is not None:
            return self.state.class_expr(target.module, target.name)
        if t.origin is not None:
            return self.state.class_expr(t.origin.module, t.origin.qualname)
        return None

    # -- containers -----------------------------------------------------------------------

    def obj_target(self, t: ObjectType, owner: str | None) -> tuple[str, str | None]:
        target = self.state.class_map.get(owner) if owner is not None else None
        if target is not None and target.kind in ("dataclass", "model"):
            return target.kind, self.state.class_expr(target.module, target.name)
        if target is not None:
            return "dict", None
        if t.origin is not None and t.origin.kind in ("dataclass", "model"):
            return t.origin.kind, self.state.class_expr(t.origin.module, t.origin.qualname)
        return "dict", None

    def obj(self, t: ObjectType, s: str, path: str, owner: str | None) -> str:
        kind, cls = self.obj_target(t, owner)
        out = self.out_var("o")
        src = s
        if self.enc:
            bad = f"type({s}) is not dict"
            if cls is not None:
                bad += f" and not isinstance({s}, {cls})"
            nested = self.type_guard(bad, path, "object", s)
        else:
            nested = self.type_guard(f"type({s}) is not dict", path, "object", s)
        if nested:
            with self.w.indent():
                self.obj_body(t, kind, cls, src, path, out)
        else:
            self.obj_body(t, kind, cls, src, path, out)
        return out

    def obj_body(self, t: ObjectType, kind: str, cls: str | None, s: str, path: str, out: str) -> None:
        if self.enc and cls is not None:
            fields = [f"    ({py_str(p.name)}, {py_str(p.pyName or p.name)})," for p in t.properties]
            table = self.state.const("F", ["(", *fields, ")"])
            self.w.line(f"{s} = {s} if type({s}) is dict else _attrs({s}, {table})")
        path = self.path_var(path)
        start = ""
        if not self.fast:
            start = self.tmp("k")
            self.w.line(f"{start} = len(issues)")
        raw: dict[str, str] = {p.name: self.tmp("a") for p in t.properties}
        required = [p for p in t.properties if p.required]
        if self.fast and required:
            self.w.line("try:")
            with self.w.indent():
                for p in required:
                    self.w.line(f"{raw[p.name]} = {s}[{py_str(p.name)}]")
            self.w.line("except KeyError:")
            with self.w.indent():
                self.w.line("raise _Fail from None")
        for p in t.properties:
            if not (self.fast and p.required):
                self.w.line(f"{raw[p.name]} = {s}.get({py_str(p.name)}, _MISSING)")
        results: dict[str, str] = {}
        for p in t.properties:
            results[p.name] = self.obj_property(p, raw[p.name], path)
        if t.extra == "forbid":
            self.forbid(t, s, path, raw)
        if not self.fast:
            self.w.line(f"if len(issues) == {start}:")
            with self.w.indent():
                self.build(t, kind, cls, s, out, raw, results)
        else:
            self.build(t, kind, cls, s, out, raw, results)

    def obj_property(self, p: Property, raw: str, path: str) -> str:
        child = self.child(path, p.name)
        if self.fast and p.required:
            return self.gen(p.type, raw, child)
        if not self.fast and p.required:
            self.w.line(f"if {raw} is _MISSING:")
            with self.w.indent():
                expected = "`" + describe(p.type, self.state.gtypes) + "`"
                message = py_str(f"Object missing required field `{p.name}`")
                self.issue(child, "missing", expected, "_MISSING", message)
            self.w.line("else:")
        else:
            self.w.line(f"if {raw} is not _MISSING:")
        with self.w.indent():
            mark = len(self.w.lines)
            result = self.gen(p.type, raw, child)
            if result != raw and not result.isidentifier():
                var = self.tmp("r")
                self.w.line(f"{var} = {result}")
                result = var
            if len(self.w.lines) == mark:
                self.w.line("pass")
        return result

    def forbid(self, t: ObjectType, s: str, path: str, raw: dict[str, str]) -> None:
        if self.fast:
            n_req = sum(1 for p in t.properties if p.required)
            terms = [str(n_req)] + [f"({raw[p.name]} is not _MISSING)" for p in t.properties if not p.required]
            count = self.tmp("c")
            self.w.line(f"{count} = " + " + ".join(terms[:3]))
            for start in range(3, len(terms), 2):
                chunk = terms[start : start + 2]
                if len(chunk) == 1:
                    chunk = [chunk[0][1:-1]]
                self.w.line(f"{count} += " + " + ".join(chunk))
            self.w.fail_if([f"len({s}) != {count}"], _FAIL)
            return
        keys = self.state.frozen("K", [py_str(p.name) for p in t.properties])
        key = self.tmp("key")
        self.w.line(f"for {key} in {s}:")
        with self.w.indent():
            self.w.line(f"if {key} not in {keys}:")
            with self.w.indent():
                message = f'"Object contains unknown field `" + {key} + "`"'
                self.issue(f"_kp({path}, {key})", "extra_forbidden", "no such field", f"{s}[{key}]", message)

    def build(
        self, t: ObjectType, kind: str, cls: str | None, s: str, out: str, raw: dict[str, str], res: dict[str, str]
    ) -> None:
        required = [p for p in t.properties if p.required]
        optional = [p for p in t.properties if not p.required]
        as_dict = kind == "dict" or self.enc

        def key(p: Property) -> str:
            return p.name if as_dict else p.pyName or p.name

        keyword_call = (
            t.extra != "allow" and not as_dict and not optional and all(key(p).isidentifier() for p in required)
        )
        if keyword_call:
            ctor = f"{cls}.model_construct(" if kind == "model" else f"{cls}("
            self.w.call(f"{out} = {ctor}", [f"{key(p)}={res[p.name]}" for p in required])
            return
        target = out if as_dict else self.tmp("kw")
        pairs = [f"{py_str(key(p))}: {res[p.name]}" for p in required]
        if t.extra == "allow" and not self.enc and kind != "dataclass":
            keys = self.state.frozen("K", [py_str(p.name) for p in t.properties])
            decl = f"{target}: dict[str, Any]" if (self.fast or target != out) else target
            self.w.line(f"{decl} = {{k: x for k, x in {s}.items() if k not in {keys}}}")
            for pair in pairs:
                k, _, value = pair.partition(": ")
                self.w.line(f"{target}[{k}] = {value}")
        else:
            annotated = target if (self.fast or target != out) else ""
            prefix = f"{target}: dict[str, Any] = {{" if annotated else f"{target} = {{"
            self.w.call(prefix, pairs, "}")
        for p in optional:
            self.w.line(f"if {raw[p.name]} is not _MISSING:")
            with self.w.indent():
                self.w.line(f"{target}[{py_str(key(p))}] = {res[p.name]}")
            if p.hasDefault and kind == "dict" and t.origin is None and not self.enc:
                self.w.line("else:")
                with self.w.indent():
                    self.w.line(f"{target}[{py_str(key(p))}] = {py_literal(p.default)}")
        if not as_dict:
            ctor = f"{cls}.model_construct" if kind == "model" else f"{cls}"
            self.w.line(f"{out} = {ctor}(**{target})")

    def items_code(self, items: GType, x: str, path: str) -> tuple[list[str], str]:
        """Generate item code into a side writer: (lines, result expression)."""
        saved = self.w
        self.w = CodeWriter(saved.level + 1)
        try:
            result = self.gen(items, x, path)
            return self.w.lines, result
        finally:
            self.w = saved

    def array(self, t: ArrayType, s: str, path: str) -> str:
        out = self.out_var("l")
        bad = f"not isinstance({s}, (list, tuple, set, frozenset))" if self.enc else f"type({s}) is not list"
        length: list[tuple[str, str, str]] = []
        if t.minItems is not None:
            length.append((f"len({s}) < {t.minItems}", "min_items", f"`array` of length >= {t.minItems}"))
        if t.maxItems is not None:
            length.append((f"len({s}) > {t.maxItems}", "max_items", f"`array` of length <= {t.maxItems}"))
        if t.uniqueItems:
            length.append((f"_has_duplicates({s})", "unique_items", "`array` of unique items"))
        if self.fast:
            self.w.fail_if([bad, *(c for c, _, _ in length)], _FAIL)
            self.array_fast(t, s, out)
            return out
        if self.type_guard(bad, path, "array", s):
            with self.w.indent():
                self.array_slow(t, s, path, out, length)
        return out

    def _wrap(self, container: str, expr: str) -> str:
        if self.enc:
            return expr
        if container in ("set", "frozenset", "tuple"):
            return f"{container}({expr})"
        return expr

    def array_fast(self, t: ArrayType, s: str, out: str) -> None:
        x = self.tmp("i")
        lines, result = self.items_code(t.items, x, "")
        identity = result == x
        if identity and not lines:
            base = s if not self.enc else f"{s} if type({s}) is list else list({s})"
            self.w.line(f"{out} = {self._wrap(t.container, base)}")
            return
        if not lines:
            self.w.line(f"{out} = {self._wrap(t.container, f'[{result} for {x} in {s}]')}")
            return
        if identity:
            self.w.line(f"for {x} in {s}:")
            self.w.lines.extend(lines)
            base = s if not self.enc else f"{s} if type({s}) is list else list({s})"
            self.w.line(f"{out} = {self._wrap(t.container, base)}")
            return
        acc = self.tmp("acc")
        self.w.line(f"{acc}: list[Any] = []")
        self.w.line(f"for {x} in {s}:")
        self.w.lines.extend(lines)
        with self.w.indent():
            self.w.line(f"{acc}.append({result})")
        self.w.line(f"{out} = {self._wrap(t.container, acc)}")

    def array_slow(self, t: ArrayType, s: str, path: str, out: str, length: list[tuple[str, str, str]]) -> None:
        path = self.path_var(path)
        start = self.tmp("k")
        self.w.line(f"{start} = len(issues)")
        for bad, code, expected in length:
            self.check(bad, path, code, expected, s)
        x, i = self.tmp("i"), self.tmp("j")
        lines, result = self.items_code(t.items, x, f'f"{{{path}}}[{{{i}}}]"')
        acc = self.tmp("acc")
        self.w.line(f"{acc}: list[Any] = []")
        self.w.line(f"for {i}, {x} in enumerate({s}):")
        self.w.lines.extend(lines)
        with self.w.indent():
            self.w.line(f"{acc}.append({result})")
        self.w.line(f"if len(issues) == {start}:")
        with self.w.indent():
            self.w.line(f"{out} = {self._wrap(t.container, acc)}")

    def tuple_(self, t: TupleType, s: str, path: str) -> str:
        n = len(t.items)
        out = self.out_var("u")
        bad = f"not isinstance({s}, (list, tuple))" if self.enc else f"type({s}) is not list"
        if self.fast:
            self.w.fail_if([bad, f"len({s}) != {n}"], _FAIL)
            self.tuple_items(t, s, path, out)
            return out
        if self.type_guard(bad, path, "array", s):
            with self.w.indent():
                path = self.path_var(path)
                self.w.line(f"if len({s}) != {n}:")
                with self.w.indent():
                    self.issue(path, "length", f"`array` of length {n}", s)
                self.w.line("else:")
                with self.w.indent():
                    self.tuple_items(t, s, path, out)
        return out

    def tuple_items(self, t: TupleType, s: str, path: str, out: str) -> None:
        results: list[str] = []
        start = ""
        if not self.fast:
            start = self.tmp("k")
            self.w.line(f"{start} = len(issues)")
        for index, item in enumerate(t.items):
            x = self.tmp("i")
            self.w.line(f"{x} = {s}[{index}]")
            results.append(self.gen(item, x, f'f"{{{path}}}[{index}]"'))
        if self.enc:
            expr = "[" + ", ".join(results) + "]"
        else:
            expr = "(" + ", ".join(results) + ("," if len(results) == 1 else "") + ")"
        if not self.fast:
            self.w.line(f"if len(issues) == {start}:")
            with self.w.indent():
                self.w.line(f"{out} = {expr}")
        else:
            self.w.line(f"{out} = {expr}")

    def map_(self, t: MapType, s: str, path: str) -> str:
        out = self.out_var("m")
        length: list[tuple[str, str, str]] = []
        if t.minProperties is not None:
            n = t.minProperties
            length.append((f"len({s}) < {n}", "min_properties", f"`object` with at least {n} fields"))
        if t.maxProperties is not None:
            n = t.maxProperties
            length.append((f"len({s}) > {n}", "max_properties", f"`object` with at most {n} fields"))
        k, x = self.tmp("key"), self.tmp("i")
        keys = self.state.deref(t.keys)
        int_keys = isinstance(keys, PrimitiveType) and keys.type == "integer"
        plain_keys = not self.enc and keys == PrimitiveType(type="string")
        if self.fast:
            self.w.fail_if([f"type({s}) is not dict", *(c for c, _, _ in length)], _FAIL)
            key_lines, key_res = ([], k) if plain_keys else self.map_key(keys, k, "", int_keys)
            val_lines, val_res = self.items_code(t.values, x, "")
            if not key_lines and val_res == x:
                # JSON object keys are always strings: only the values need checking.
                if val_lines:
                    self.w.line(f"for {x} in {s}.values():")
                    self.w.lines.extend(val_lines)
                self.w.line(f"{out} = {s}")
                return out
            if not key_lines and not val_lines and key_res == k and val_res == x:
                self.w.line(f"{out} = {s}")
                return out
            if not key_lines and not val_lines:
                self.w.line(f"{out} = {{{key_res}: {val_res} for {k}, {x} in {s}.items()}}")
                return out
            self.w.line(f"{out} = {{}}")
            self.w.line(f"for {k}, {x} in {s}.items():")
            self.w.lines.extend(key_lines + val_lines)
            with self.w.indent():
                self.w.line(f"{out}[{key_res}] = {val_res}")
            return out
        if self.type_guard(f"type({s}) is not dict", path, "object", s):
            with self.w.indent():
                path = self.path_var(path)
                start = self.tmp("k")
                self.w.line(f"{start} = len(issues)")
                for bad, code, expected in length:
                    self.check(bad, path, code, expected, s)
                acc = self.tmp("acc")
                self.w.line(f"{acc}: dict[Any, Any] = {{}}")
                self.w.line(f"for {k}, {x} in {s}.items():")
                key_lines, key_res = self.map_key(keys, k, f"_kp({path}, {k})", int_keys)
                val_lines, val_res = self.items_code(t.values, x, f"_kp({path}, {k})")
                self.w.lines.extend(key_lines + val_lines)
                with self.w.indent():
                    self.w.line(f"{acc}[{key_res}] = {val_res}")
                self.w.line(f"if len(issues) == {start}:")
                with self.w.indent():
                    self.w.line(f"{out} = {acc}")
        return out

    def map_key(self, keys: GType, k: str, path: str, int_keys: bool) -> tuple[list[str], str]:
        if not int_keys:
            return self.items_code(keys, k, path)
        saved = self.w
        self.w = CodeWriter(saved.level + 1)
        try:
            v = self.tmp("ik")
            self.w.line(f"{v} = _parse_int_key({k})" if not self.enc else f"{v} = str({k})")
            if not self.enc:
                self.check(f"{v} is None", path, "type", "`int` key", k)
            return self.w.lines, v
        finally:
            self.w = saved

    def union(self, t: UnionType, s: str, path: str) -> str:
        options = list(t.options)
        non_null = [o for o in options if not (isinstance(o, PrimitiveType) and o.type == "null")]
        if len(non_null) == 1 and len(options) == 2:
            out = self.tmp("o")
            self.w.line(f"{out}: Any = None")
            self.w.line(f"if {s} is not None:")
            with self.w.indent():
                result = self.gen(non_null[0], s, path)
                self.w.line(f"{out} = {result}")
            return out
        if not self.enc:
            options.sort(key=_union_priority)
        if t.discriminator is not None and not self.enc:
            table = self.discriminated(t, options)
            if table is not None:
                return self.tagged(t, table, s, path)
        names = [self.state.functions_for(o, self.direction) for o in options]
        out = self.tmp("o")
        if self.fast:
            fns = ", ".join(fast for fast, _ in names)
            if self.w.fits(f"{out} = _union_fast({s}, ({fns}))"):
                self.w.line(f"{out} = _union_fast({s}, ({fns}))")
            else:
                self.w.call(f"{out} = _union_fast({s}, (", [fast for fast, _ in names], "))")
            return out
        entries = []
        for option, (fast, slow) in zip(options, names, strict=True):
            types = "{" + ", ".join(py_str(x) for x in sorted(json_types(option, self.state.gtypes))) + "}"
            entries.extend(["    (", f"        {fast},", f"        {slow},", f"        frozenset({types}),", "    ),"])
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
            self.w.fail_if([f"type({s}) is not dict"], _FAIL)
            self.w.line(f"{tag} = {s}.get({disc})")
            self.w.line(f"{fn} = {name}.get({tag}) if type({tag}) is str else None")
            self.w.fail_if([f"{fn} is None"], _FAIL)
            self.w.line(f"{out} = {fn}({s})")
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
