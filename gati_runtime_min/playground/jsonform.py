"""The typed JSON form of Python values: what snapshots keep of `lctx` state, published messages
and events, so that a snapshot restores to equal values of the same types (`encode`, `decode`).

- JSON values stay as they are; a dict whose keys are all strings (and has no `"$type"` key) is an
  object; a list is an array.
- Other values are objects tagged with `"$type"`: `tuple`, `set`, `frozenset`, `dict` (other keys:
  `items` as `[key, value]` pairs), `bytes`, `bytearray` (`base64`), `datetime`, `date`, `time`
  (ISO 8601), `timedelta` (`days`, `seconds`, `microseconds`), `decimal`, `uuid`, `path`,
  `complex`, `int` (beyond 64 bits, as a string), `float` (`nan`, `inf`, `-inf`).
- An `enum` member, a `dataclass` instance and a pydantic `model` carry their class
  (`"module:Qualname"`) and their value or fields. They are restored only when that module is
  already loaded: a snapshot never makes the process import anything.
- Anything else is `{"$type": "repr", "repr": ...}`, and a secret `{"$type": "redacted"}`: neither
  can be restored. `decode` raises `NotRestorable` naming their paths (or, with `strict=False`,
  leaves an `Unrestorable` marker there).

The same walk gives the *plain* JSON form (what a client would send, and what the page shows of
a request): models and dataclasses as their fields, dates as ISO strings, decimals, UUIDs and
integers beyond 64 bits as strings, enum members as their values, secrets as `REDACTED`.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import math
import re
import sys
import uuid
from collections.abc import Iterable, Mapping
from decimal import Decimal
from enum import Enum
from pathlib import Path, PurePath
from typing import Any, Final, Protocol

import orjson

from gati_runtime_min.secrets import Secret

REDACTED: Final = "[redacted]"
TYPE: Final = "$type"
_MAX_DEPTH: Final = 64
_IDENT: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INT64: Final = (-(2**63), 2**64)


class Rules(Protocol):
    """What the walk asks of a redactor (`snapshot.Redactor`)."""

    def secret_key(self, name: str) -> bool: ...

    def secret_text(self, text: str) -> bool: ...


def child_path(path: str, key: Any) -> str:
    """`$.a` for an identifier key, `$[0]` for an index, `$["x-y"]` otherwise."""
    if isinstance(key, str) and _IDENT.fullmatch(key):
        return f"{path}.{key}"
    if isinstance(key, int) and not isinstance(key, bool):
        return f"{path}[{key}]"
    return f"{path}[{orjson.dumps(str(key)).decode()}]"


def class_name(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def resolve_class(name: Any) -> type | None:
    """The class `"module:Qualname"` if its module is loaded (never imported here)."""
    if not isinstance(name, str):
        return None
    module, _, qualname = name.partition(":")
    obj: Any = sys.modules.get(module)
    if obj is None or not qualname:
        return None
    for part in qualname.split("."):
        if part == "<locals>":
            return None
        obj = getattr(obj, part, None)
    return obj if isinstance(obj, type) else None


def _model_fields(value: Any) -> dict[str, Any] | None:
    """A pydantic model's field values (found by shape: the runtime does not import pydantic)."""
    fields = getattr(type(value), "model_fields", None)
    if not isinstance(fields, dict) or not hasattr(value, "model_dump"):
        return None
    out = {name: getattr(value, name) for name in fields}
    extra = getattr(value, "model_extra", None)
    if isinstance(extra, dict):
        out.update(extra)
    return out


class Encoder:
    """One walk over a value: the typed JSON form (`typed`) or the plain one, redacting as it goes."""

    def __init__(self, redactor: Rules | None, typed: bool) -> None:
        self.redactor = redactor
        self.typed = typed
        self.redacted: list[str] = []
        self.unrestorable: list[str] = []
        self._stack: set[int] = set()

    def redact(self, path: str) -> Any:
        self.redacted.append(path)
        return {TYPE: "redacted"} if self.typed else REDACTED

    def fields(self, items: Iterable[tuple[str, Any]], path: str, depth: int) -> dict[str, Any]:
        r = self.redactor
        out: dict[str, Any] = {}
        for k, v in items:
            p = child_path(path, k)
            out[k] = self.redact(p) if r is not None and r.secret_key(k) else self.enc(v, p, depth + 1)
        return out

    def enc(self, v: Any, path: str, depth: int) -> Any:
        if v is None or v is True or v is False:
            return v
        t = type(v)
        typed = self.typed
        if t is str:
            return self.redact(path) if self.redactor is not None and self.redactor.secret_text(v) else v
        if t is int:
            if _INT64[0] <= v < _INT64[1]:
                return v
            return {TYPE: "int", "value": str(v)} if typed else str(v)  # JSON parsers stop at 64 bits
        if t is float:
            if math.isfinite(v):
                return v
            return {TYPE: "float", "value": repr(v)} if typed else repr(v)
        if isinstance(v, Secret):
            return self.redact(path)
        if isinstance(v, Enum):
            value = self.enc(v.value, path, depth + 1)
            return {TYPE: "enum", "class": class_name(t), "name": v.name, "value": value} if typed else value
        if isinstance(v, dt.datetime | dt.date | dt.time):
            kind = "datetime" if isinstance(v, dt.datetime) else "date" if isinstance(v, dt.date) else "time"
            return {TYPE: kind, "value": v.isoformat()} if typed else v.isoformat()
        if isinstance(v, dt.timedelta):
            if typed:
                return {TYPE: "timedelta", "days": v.days, "seconds": v.seconds, "microseconds": v.microseconds}
            return v.total_seconds()
        if isinstance(v, Decimal | uuid.UUID | PurePath):
            kind = "decimal" if isinstance(v, Decimal) else "uuid" if isinstance(v, uuid.UUID) else "path"
            return {TYPE: kind, "value": str(v)} if typed else str(v)
        if isinstance(v, bytes | bytearray):
            if self.redactor is not None and self.redactor.secret_text(bytes(v).decode("latin-1")):
                return self.redact(path)
            data = base64.b64encode(v).decode("ascii")
            return {TYPE: "bytes" if isinstance(v, bytes) else "bytearray", "base64": data} if typed else data
        if isinstance(v, complex):
            return {TYPE: "complex", "real": v.real, "imag": v.imag} if typed else repr(v)
        if isinstance(v, str | int | float):  # a subclass of a JSON scalar: its plain value
            return self.enc((str if isinstance(v, str) else int if isinstance(v, int) else float)(v), path, depth)
        if id(v) in self._stack or depth > _MAX_DEPTH:
            return self.opaque(v, path)
        self._stack.add(id(v))
        try:
            return self.container(v, t, path, depth)
        finally:
            self._stack.discard(id(v))

    def container(self, v: Any, t: type, path: str, depth: int) -> Any:
        typed = self.typed
        if isinstance(v, Mapping):
            if all(type(k) is str for k in v) and not (typed and TYPE in v):
                return self.fields(v.items(), path, depth)
            if not typed:
                return self.fields(((str(k), x) for k, x in v.items()), path, depth)
            r = self.redactor
            items = [
                [
                    self.enc(k, child_path(path, k), depth + 1),
                    self.redact(child_path(path, k))
                    if isinstance(k, str) and r is not None and r.secret_key(k)
                    else self.enc(x, child_path(path, k), depth + 1),
                ]
                for k, x in v.items()
            ]
            return {TYPE: "dict", "items": items}
        if isinstance(v, list | tuple):
            items = [self.enc(x, child_path(path, i), depth + 1) for i, x in enumerate(v)]
            if not typed or t is list:
                return items
            if isinstance(v, list):  # a list subclass: equal as a list
                return items
            out: dict[str, Any] = {TYPE: "tuple", "items": items}
            if hasattr(v, "_fields"):  # a named tuple: restored as one when its class is loaded
                out["class"] = class_name(t)
            return out
        if isinstance(v, set | frozenset):
            items = [self.enc(x, child_path(path, i), depth + 1) for i, x in enumerate(v)]
            if not typed:
                return items
            items.sort(key=lambda x: orjson.dumps(x, option=orjson.OPT_SORT_KEYS))
            return {TYPE: "frozenset" if isinstance(v, frozenset) else "set", "items": items}
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            f = self.fields(((x.name, getattr(v, x.name)) for x in dataclasses.fields(v)), path, depth)
            return {TYPE: "dataclass", "class": class_name(t), "fields": f} if typed else f
        model = _model_fields(v)
        if model is not None:
            f = self.fields(model.items(), path, depth)
            return {TYPE: "model", "class": class_name(t), "fields": f} if typed else f
        return self.opaque(v, path)

    def opaque(self, v: Any, path: str) -> Any:
        """A value with no JSON form: its repr (itself checked for secrets), not restorable."""
        try:
            shown = repr(v)
        except Exception:  # a broken __repr__ must not break the request
            shown = f"<{type(v).__name__} object>"
        if self.redactor is not None and self.redactor.secret_text(shown):
            return self.redact(path)
        if not self.typed:
            return shown
        self.unrestorable.append(path)
        return {TYPE: "repr", "class": class_name(type(v)), "repr": shown}


class Unrestorable:
    """What `restore(..., strict=False)` leaves where a value could not be restored."""

    __slots__ = ("path", "shown")

    def __init__(self, path: str, shown: str) -> None:
        self.path = path
        self.shown = shown

    def __repr__(self) -> str:
        return f"<unrestorable {self.path}: {self.shown}>"


class NotRestorable(ValueError):
    """A snapshot holds values that cannot be restored (a repr, a redacted secret, a class that is
    not loaded): `paths` names them."""

    def __init__(self, paths: list[str]) -> None:
        super().__init__(f"cannot restore {', '.join(paths)}: the snapshot keeps only their repr or nothing")
        self.paths = paths


def _scalar(form: dict[str, Any], key: str, path: str) -> Any:
    if key not in form:
        raise ValueError(f"{path}: a {form[TYPE]!r} value needs {key!r}")
    return form[key]


class Decoder:
    """The typed JSON form back to values; what cannot be restored is collected in `missing`."""

    def __init__(self) -> None:
        self.missing: list[str] = []

    def fail(self, path: str, shown: str) -> Unrestorable:
        self.missing.append(path)
        return Unrestorable(path, shown)

    def dec(self, form: Any, path: str) -> Any:
        if form is None or isinstance(form, bool | int | float | str):
            return form
        if isinstance(form, list):
            return [self.dec(x, child_path(path, i)) for i, x in enumerate(form)]
        if not isinstance(form, dict):
            raise ValueError(f"{path}: {type(form).__name__} is not a JSON value")
        kind = form.get(TYPE)
        if kind is None:
            return {k: self.dec(x, child_path(path, k)) for k, x in form.items()}
        try:
            if kind in ("tuple", "set", "frozenset", "dict"):
                items = _scalar(form, "items", path)
                if not isinstance(items, list):
                    raise ValueError(f"{path}: `items` is not a list")
                if kind == "dict":
                    pairs = [self.dec(p, child_path(path, i)) for i, p in enumerate(items)]
                    if not all(isinstance(p, list) and len(p) == 2 for p in pairs):
                        raise ValueError(f"{path}: a dict's `items` are [key, value] pairs")
                    return {self._key(k, path): x for k, x in pairs}
                values = [self.dec(x, child_path(path, i)) for i, x in enumerate(items)]
                if kind == "tuple":
                    cls = resolve_class(form.get("class")) if "class" in form else None
                    return cls(*values) if cls is not None and issubclass(cls, tuple) else tuple(values)
                return frozenset(values) if kind == "frozenset" else set(values)
            if kind in ("datetime", "date", "time"):
                text = _scalar(form, "value", path)
                if kind == "datetime":
                    return dt.datetime.fromisoformat(text)
                return dt.date.fromisoformat(text) if kind == "date" else dt.time.fromisoformat(text)
            if kind == "timedelta":
                return dt.timedelta(days=form["days"], seconds=form["seconds"], microseconds=form["microseconds"])
            if kind in ("decimal", "uuid", "path", "int", "float"):
                text = str(_scalar(form, "value", path))
                make = {"decimal": Decimal, "uuid": uuid.UUID, "path": Path, "int": int, "float": float}[kind]
                return make(text)
            if kind in ("bytes", "bytearray"):
                data = base64.b64decode(_scalar(form, "base64", path), validate=True)
                return data if kind == "bytes" else bytearray(data)
            if kind == "complex":
                return complex(form["real"], form["imag"])
            if kind == "enum":
                cls = resolve_class(form.get("class"))
                if cls is None or not issubclass(cls, Enum):
                    return self.fail(path, f"{form.get('class')}.{form.get('name')} (its class is not loaded)")
                return cls(self.dec(form.get("value"), path))
            if kind in ("dataclass", "model"):
                return self._instance(kind, form, path)
            if kind == "repr":
                return self.fail(path, str(form.get("repr")))
            if kind == "redacted":
                return self.fail(path, REDACTED)
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            if isinstance(exc, ValueError) and str(exc).startswith(path):
                raise
            raise ValueError(f"{path}: not a {kind} value: {exc}") from None
        raise ValueError(f"{path}: unknown $type {kind!r}")

    def _key(self, key: Any, path: str) -> Any:
        if isinstance(key, list | dict | set):
            raise ValueError(f"{path}: a dict key of type {type(key).__name__} is not hashable")
        return key

    def _instance(self, kind: str, form: dict[str, Any], path: str) -> Any:
        fields = form.get("fields")
        if not isinstance(fields, dict):
            raise ValueError(f"{path}: a {kind} value needs `fields`")
        cls = resolve_class(form.get("class"))
        if cls is None:
            return self.fail(path, f"{form.get('class')} (its class is not loaded)")
        values = {k: self.dec(x, child_path(path, k)) for k, x in fields.items()}
        if kind == "model":
            construct = getattr(cls, "model_construct", None)
            if construct is None:
                return self.fail(path, f"{form.get('class')} is not a pydantic model")
            return construct(**values)
        if not dataclasses.is_dataclass(cls):
            return self.fail(path, f"{form.get('class')} is not a dataclass")
        obj = object.__new__(cls)
        for name, value in values.items():  # the fields as they were: no __init__, no __post_init__
            object.__setattr__(obj, name, value)
        return obj


def encode(value: Any, redactor: Rules | None = None, path: str = "$") -> tuple[Any, list[str], list[str]]:
    """The typed JSON form of `value`, the redacted paths and the paths kept only as a repr."""
    enc = Encoder(redactor, typed=True)
    return enc.enc(value, path, 0), enc.redacted, enc.unrestorable


def decode(form: Any, path: str = "$", *, strict: bool = True) -> Any:
    """A value back from its typed JSON form: `ValueError` for a malformed form; `NotRestorable`
    (strict) or `Unrestorable` markers for what the form does not hold."""
    d = Decoder()
    value = d.dec(form, path)
    if strict and d.missing:
        raise NotRestorable(d.missing)
    return value


def decode_state(state: Mapping[str, Any], *, strict: bool = True) -> tuple[dict[str, Any], list[str]]:
    """The `lctx` state from its typed JSON form (an object: key -> typed value) and the paths not restored."""
    if not isinstance(state, Mapping):
        raise ValueError(f"the state is an object of keys, not {type(state).__name__}")
    d = Decoder()
    out = {str(k): d.dec(v, child_path("$.state", k)) for k, v in state.items()}
    if strict and d.missing:
        raise NotRestorable(d.missing)
    return out, d.missing
