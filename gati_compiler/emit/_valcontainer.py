"""Code for container GTypes: objects (TypedDict, dataclass, model), arrays, tuples and maps (unions
are in `_valunion.py`).

Input: one GType and the local holding its value. Output: lines written to the function being
generated, and the expression of the converted value; nested parts go back through `gen`.
"""

from __future__ import annotations

from collections.abc import Callable

from gati_compiler.emit._valbase import (
    FORMAT_NAMES,
    describe,
    merge_ranges,
    py_literal,
)
from gati_compiler.emit._valunion import UnionGen
from gati_compiler.emit._valwriter import CodeWriter
from gati_compiler.emit.render import py_str
from gati_compiler.ir.gtype import (
    ArrayType,
    EnumType,
    GType,
    MapType,
    ObjectType,
    PrimitiveType,
    Property,
    RefType,
    TupleType,
)


class ContainerGen(UnionGen):
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

    def model_constructor(self, cls: str | None) -> str:
        """A constant holding pydantic's own `model_construct` bound to the model class `cls`: a
        class may override `model_construct` (SDK base models do, reading only aliases), while the
        values here are already checked and converted as pydantic's validation would have."""
        return self.state.const("MC", [f"_constructor({cls})"])

    def obj_body(self, t: ObjectType, kind: str, cls: str | None, s: str, path: str, out: str) -> None:
        if self.enc and cls is not None:
            fields = [f"    ({py_str(p.name)}, {py_str(p.pyName or p.name)})," for p in t.properties]
            table = self.state.const("F", ["(", *fields, ")"])
            self.w.line(f"{s} = {s} if type({s}) is dict else _attrs({s}, {table})")
        elif self.enc and any(p.pyName is not None for p in t.properties):
            # a TypedDict with aliases: its Python form is keyed by field names, its JSON form by
            # wire names; either is accepted
            fields = [f"    ({py_str(p.name)}, {py_str(p.pyName)})," for p in t.properties if p.pyName is not None]
            table = self.state.const("F", ["(", *fields, ")"])
            self.w.line(f"{s} = _wire_keys({s}, {table})")
        # `path` stays an expression: field paths are only built when an issue is recorded
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
                self.w.line(self.fail)
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

    def forbid(self, t: ObjectType, s: str, path: str, raw: dict[str, str], counted: str = "") -> None:
        """Unknown fields. Fast: count the known ones, which `counted` (a condition) may say
        cannot be trusted (a required field may be absent)."""
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
            self.w.fail_if([counted, f"len({s}) != {count}"] if counted else [f"len({s}) != {count}"], self.fail)
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
            # decoded values are keyed as the Python type declares them (a TypedDict by its field
            # names, as pydantic gives them); encoded ones by wire names
            return p.name if self.enc else p.pyName or p.name

        keyword_call = (
            t.extra != "allow" and not as_dict and not optional and all(key(p).isidentifier() for p in required)
        )
        if keyword_call:
            ctor = f"{self.model_constructor(cls)}(" if kind == "model" else f"{cls}("
            self.w.call(f"{out} = {ctor}", [f"{key(p)}={res[p.name]}" for p in required])
            return
        fills_defaults = t.origin is None and any(p.hasDefault and not p.required for p in t.properties)
        converts = any(self.always_converted(p.type) for p in t.properties)
        renames = any(p.pyName is not None for p in t.properties)
        reuse = not (self.enc or fills_defaults or converts or renames) and kind == "dict" and t.extra != "allow"
        if self.fast and reuse:
            if not self.predeclared:
                self.w.line(f"{out}: dict[str, Any]")
            self.w.line(f"if {self.reuse_condition(t, s, raw, res)}:")
            with self.w.indent():
                # Nothing dropped, nothing converted: the input dict already is the value.
                self.w.line(f"{out} = {s}")
            self.w.line("else:")
            with self.w.indent():
                self.build_dict(t, kind, cls, s, out, raw, res, key, declared=True)
            return
        self.build_dict(t, kind, cls, s, out, raw, res, key, declared=not self.fast or self.predeclared)

    def always_converted(self, gtype: GType) -> bool:
        """Whether decoding always yields a new object of another type (never the input itself)."""
        target = self.state.deref(gtype)
        if isinstance(target, PrimitiveType):
            return target.format in FORMAT_NAMES
        if isinstance(target, EnumType):
            return True
        if isinstance(target, ArrayType):
            return target.container in ("set", "frozenset", "tuple")
        if isinstance(target, TupleType):
            return True
        if isinstance(target, ObjectType):
            ref = gtype.ref if isinstance(gtype, RefType) else None
            return self.obj_target(target, ref)[0] != "dict"
        return False

    def reuse_condition(self, t: ObjectType, s: str, raw: dict[str, str], res: dict[str, str]) -> str:
        """A condition (or a variable) true when the decoded object would equal the input dict."""
        terms = [f"({raw[p.name]} is not _MISSING)" for p in t.properties if not p.required]
        n_req = sum(1 for p in t.properties if p.required)
        conds = [] if t.extra == "forbid" else [f"len({s}) == " + " + ".join([str(n_req), *terms])]
        for p in t.properties:
            result, source = res[p.name], raw[p.name]
            if result == source:
                continue
            if not result.isidentifier():
                var = self.tmp("r")
                self.w.line(f"{var} = {result}")
                res[p.name] = result = var
            conds.append(f"{result} is {source}" if p.required else f"({source} is _MISSING or {result} is {source})")
        if conds and self.w.fits("if " + " and ".join(conds) + ":"):
            return " and ".join(conds)
        # too long for one line: a variable, with as many conditions per line as fit
        same = self.tmp("same")
        line = f"{same} = " + (conds[0] if conds else "True")
        for cond in conds[1:]:
            if self.w.fits(f"{line} and {cond}"):
                line = f"{line} and {cond}"
            else:
                self.w.line(line)
                line = f"{same} = {same} and {cond}"
        self.w.line(line)
        return same

    def build_dict(
        self,
        t: ObjectType,
        kind: str,
        cls: str | None,
        s: str,
        out: str,
        raw: dict[str, str],
        res: dict[str, str],
        key: Callable[[Property], str],
        declared: bool,
    ) -> None:
        as_dict = kind == "dict" or self.enc
        optional = [p for p in t.properties if not p.required]
        target = out if as_dict else self.tmp("kw")
        pairs = [f"{py_str(key(p))}: {res[p.name]}" for p in t.properties if p.required]
        annotated = target != out or not declared
        if t.extra == "allow" and not self.enc and kind != "dataclass":
            keys = self.state.frozen("K", [py_str(p.name) for p in t.properties])
            decl = f"{target}: dict[str, Any]" if annotated else target
            self.w.line(f"{decl} = {{k: x for k, x in {s}.items() if k not in {keys}}}")
            for pair in pairs:
                k, _, value = pair.partition(": ")
                self.w.line(f"{target}[{k}] = {value}")
        else:
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
            ctor = self.model_constructor(cls) if kind == "model" else f"{cls}"
            self.w.line(f"{out} = {ctor}(**{target})")
            if kind == "model" and t.extra == "allow":
                # pydantic counts the extra keys it kept as set (`model_dump(exclude_unset=True)`
                # keeps them); `model_construct` counts declared fields only
                self.w.line(f"{out}.__pydantic_fields_set__.update({target})")

    def array(self, t: ArrayType, s: str, path: str) -> str:
        out = self.out_var("l")
        bad = f"not isinstance({s}, (list, tuple, set, frozenset))" if self.enc else f"type({s}) is not list"
        length = array_bounds(t, s)
        if self.fast:
            self.w.fail_if(merge_ranges([bad, *(c for c, _, _ in length)]), self.fail)
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
        if not self.enc and t.container in ("list", "sequence") and not self.always_converted(t.items):
            # Every item decoded to itself: keep the input list instead of the copy.
            same = self.tmp("same")
            self.w.line(f"{same} = True")
            self.w.line(f"for {x} in {s}:")
            self.w.lines.extend(lines)
            with self.w.indent():
                self.w.line(f"if {result} is not {x}:")
                with self.w.indent():
                    self.w.line(f"{same} = False")
                self.w.line(f"{acc}.append({result})")
            self.w.line(f"{out} = {s} if {same} else {acc}")
        else:
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
            self.w.fail_if([bad, f"len({s}) != {n}"], self.fail)
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
            self.w.fail_if(merge_ranges([f"type({s}) is not dict", *(c for c, _, _ in length)]), self.fail)
            key_lines, key_res = ([], k) if plain_keys else self.map_key(keys, k, "", int_keys)
            val_lines, val_res = self.items_code(t.values, x, "")
            if not key_lines and val_res == x:
                # JSON object keys are always strings: only the values need checking.
                if val_lines:
                    self.w.line(f"for {x} in {s}.values():")
                    self.w.lines.extend(val_lines)
                return s
            if not key_lines and not val_lines and key_res == k and val_res == x:
                return s
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
                key_lines, key_res = ([], k) if plain_keys else self.map_key(keys, k, f"_kp({path}, {k})", int_keys)
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


def array_bounds(t: ArrayType, s: str) -> list[tuple[str, str, str]]:
    """An array's own checks beyond its type, as (failing test on `s`, issue code, expected)."""
    length: list[tuple[str, str, str]] = []
    if t.minItems is not None:
        length.append((f"len({s}) < {t.minItems}", "min_items", f"`array` of length >= {t.minItems}"))
    if t.maxItems is not None:
        length.append((f"len({s}) > {t.maxItems}", "max_items", f"`array` of length <= {t.maxItems}"))
    if t.uniqueItems:
        length.append((f"_has_duplicates({s})", "unique_items", "`array` of unique items"))
    return length
