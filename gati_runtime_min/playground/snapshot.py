"""Snapshots of a request at one step (`take`, `restore`), and the redaction of secrets in what
the playground keeps and shows (`Redactor`).

A snapshot holds the request (its JSON form), the `lctx` state, the messages published so far and
the lifecycle events, at a position such as `"before hook auth"` or `"after handler"`. The state,
messages and events are kept in the *typed JSON form* so that `restore` gives back equal values:

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
  can be restored. `StateSnapshot.unrestorable` and `.redacted` list their paths, and `restore`
  raises `NotRestorable` naming them (or, with `strict=False`, leaves an `Unrestorable` marker there).

The request part is plain JSON (what a client would send): models and dataclasses as their fields,
dates as ISO strings, decimals, UUIDs and integers beyond 64 bits as strings. `restore` gives a
`Request` over those values.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import math
import re
import sys
import time
import uuid
from collections.abc import Iterable, Mapping
from decimal import Decimal
from enum import Enum
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any, Final

import orjson

from gati_runtime_min.context import LocalContext
from gati_runtime_min.messages import Principal, Request
from gati_runtime_min.secrets import Secret

if TYPE_CHECKING:
    from gati_runtime_min.app import GatiApp

REDACTED: Final = "[redacted]"
TYPE: Final = "$type"
DEFAULT_HEADERS: Final = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "x-auth-token", "x-csrf-token"}
)
# a key or header whose name, lower case without `-` and `_`, contains one of these holds a secret
DEFAULT_KEYS: Final = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "accesskey",
    "privatekey",
    "credential",
    "authorization",
    "cookie",
)
MIN_CONTAINED: Final = 8  # a secret value this long is also redacted inside a longer string
_MAX_DEPTH: Final = 64
_IDENT: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INT64: Final = (-(2**63), 2**64)


def _norm(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "")


def child_path(path: str, key: Any) -> str:
    """`$.a` for an identifier key, `$[0]` for an index, `$["x-y"]` otherwise."""
    if isinstance(key, str) and _IDENT.fullmatch(key):
        return f"{path}.{key}"
    if isinstance(key, int) and not isinstance(key, bool):
        return f"{path}[{key}]"
    return f"{path}[{orjson.dumps(str(key)).decode()}]"


class Redactor:
    """Decides what is a secret: header names, key names, `Secret` objects and the values the
    app's secret store has handed out (learned as they are read)."""

    def __init__(
        self, secrets: Iterable[str] = (), headers: Iterable[str] = DEFAULT_HEADERS, keys: Iterable[str] = DEFAULT_KEYS
    ) -> None:
        self._headers = frozenset(h.lower() for h in headers)
        self._keys = tuple(_norm(k) for k in keys)
        self._values: frozenset[str] = frozenset()
        self._long: tuple[str, ...] = ()
        for value in secrets:
            self.learn(value)

    @classmethod
    def for_app(cls, app: GatiApp) -> Redactor:
        """The app's API-key header and keys, its JWT secret, and every value its `SecretStore` reads."""
        auth = app.auth
        values = list(auth.api_keys)
        hs256 = auth.keys.get("HS256")
        if isinstance(hs256, str):
            values.append(hs256)
        redactor = cls(values, DEFAULT_HEADERS | {auth.api_key_header})
        app.secret_store.observe(redactor.learn)
        return redactor

    def learn(self, value: str) -> None:
        """Redact `value` from now on, wherever it turns up."""
        if not value or value in self._values:
            return
        self._values = self._values | {value}
        if len(value) >= MIN_CONTAINED:
            self._long = (*self._long, value)

    def secret_key(self, name: str) -> bool:
        n = _norm(name)
        return any(k in n for k in self._keys)

    def secret_header(self, name: str) -> bool:
        return name.lower() in self._headers or self.secret_key(name)

    def secret_text(self, text: str) -> bool:
        return text in self._values or any(v in text for v in self._long)

    def headers(self, pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        return [(n, REDACTED if self.secret_header(n) or self.secret_text(v) else v) for n, v in pairs]

    def value(self, value: Any) -> tuple[Any, list[str]]:
        """The plain JSON form of `value` with secrets replaced by `REDACTED`, and their paths."""
        enc = _Encoder(self, typed=False)
        return enc.enc(value, "$", 0), enc.redacted


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


class _Encoder:
    """One walk over a value: the typed JSON form (`typed`) or the plain one, redacting as it goes."""

    def __init__(self, redactor: Redactor | None, typed: bool) -> None:
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


class _Decoder:
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


def encode(value: Any, redactor: Redactor | None = None, path: str = "$") -> tuple[Any, list[str], list[str]]:
    """The typed JSON form of `value`, the redacted paths and the paths kept only as a repr."""
    enc = _Encoder(redactor, typed=True)
    return enc.enc(value, path, 0), enc.redacted, enc.unrestorable


def decode(form: Any, path: str = "$", *, strict: bool = True) -> Any:
    """A value back from its typed JSON form: `ValueError` for a malformed form; `NotRestorable`
    (strict) or `Unrestorable` markers for what the form does not hold."""
    d = _Decoder()
    value = d.dec(form, path)
    if strict and d.missing:
        raise NotRestorable(d.missing)
    return value


def decode_state(state: Mapping[str, Any], *, strict: bool = True) -> tuple[dict[str, Any], list[str]]:
    """The `lctx` state from its typed JSON form (an object: key -> typed value) and the paths not restored."""
    if not isinstance(state, Mapping):
        raise ValueError(f"the state is an object of keys, not {type(state).__name__}")
    d = _Decoder()
    out = {str(k): d.dec(v, child_path("$.state", k)) for k, v in state.items()}
    if strict and d.missing:
        raise NotRestorable(d.missing)
    return out, d.missing


@dataclasses.dataclass(frozen=True)
class StateSnapshot:
    """A request at one position: `request` in plain JSON form, `state`, `published` (`[topic,
    message]`) and `events` (`[seconds since the start, name, detail]`) in the typed JSON form."""

    request_id: str
    position: str
    request: dict[str, Any]
    state: dict[str, Any]
    published: list[list[Any]]
    events: list[list[Any]]
    redacted: list[str]
    unrestorable: list[str] = dataclasses.field(default_factory=list)
    handler_id: str | None = None
    at: float = 0.0  # seconds since the request started

    def to_json(self) -> dict[str, Any]:
        return {
            "requestId": self.request_id,
            "handlerId": self.handler_id,
            "position": self.position,
            "at": self.at,
            "atMs": round(self.at * 1000, 3),
            "request": self.request,
            "state": self.state,
            "published": self.published,
            "events": self.events,
            "redacted": self.redacted,
            "unrestorable": self.unrestorable,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StateSnapshot:
        try:
            return cls(
                request_id=str(data["requestId"]),
                position=str(data["position"]),
                request=dict(data["request"]),
                state=dict(data.get("state") or {}),
                published=[list(p) for p in data.get("published") or ()],
                events=[list(e) for e in data.get("events") or ()],
                redacted=[str(p) for p in data.get("redacted") or ()],
                unrestorable=[str(p) for p in data.get("unrestorable") or ()],
                handler_id=data.get("handlerId"),
                at=float(data["at"]) if "at" in data else float(data.get("atMs") or 0.0) / 1000,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a snapshot: {exc}") from None


def take(
    position: str, req: Request[Any, Any, Any], lctx: LocalContext, redactor: Redactor, handler_id: str | None = None
) -> StateSnapshot:
    """The request as it is now, at `position` (`"before hook <id>"`, `"before handler"`, ...)."""
    plain = _Encoder(redactor, typed=False)
    headers = []
    for name, value in req.headers.items():
        if redactor.secret_header(name) or redactor.secret_text(value):
            plain.redacted.append(child_path("$.request.headers", name))
            value = REDACTED
        headers.append([name, value])
    request: dict[str, Any] = {
        "method": req.method,
        "path": req.path,
        "version": lctx._version if hasattr(lctx, "_version") else lctx.meta.version,
        "client": req.client,
        "params": plain.enc(req.params, "$.request.params", 0),
        "query": plain.enc(req.query, "$.request.query", 0),
        "headers": headers,
        "body": plain.enc(req.body, "$.request.body", 0),
    }
    if req.user is not None:
        u = req.user
        claims = plain.enc(dict(u.claims), "$.request.user.claims", 0)
        request["user"] = {"subject": u.subject, "roles": sorted(u.roles), "scheme": u.scheme, "claims": claims}
    enc = _Encoder(redactor, typed=True)
    state = enc.fields((lctx._state or {}).items(), "$.state", 0)
    published = [
        [topic, enc.enc(message, f"$.published[{i}].message", 0)] for i, (topic, message) in enumerate(lctx.published)
    ]
    events = [
        [t, name, None if detail is None else enc.fields(detail.items(), f"$.events[{i}].detail", 0)]
        for i, (t, name, detail) in enumerate(lctx.events)
    ]
    return StateSnapshot(
        request_id=req.request_id,
        position=position,
        request=request,
        state=state,
        published=published,
        events=events,
        redacted=plain.redacted + enc.redacted,
        unrestorable=enc.unrestorable,
        handler_id=handler_id,
        at=time.perf_counter() - lctx.t0,
    )


def restore(snapshot: StateSnapshot, *, strict: bool = True) -> tuple[Request[Any, Any, Any], LocalContext]:
    """The request and its `lctx` as they were at the snapshot's position: state, published
    messages and events equal to the originals. A value kept only as a repr, a redacted secret or
    an instance of a class that is not loaded raises `NotRestorable` naming every such path, or
    with `strict=False` is left as an `Unrestorable` marker. The request's parts are their JSON form."""
    r = snapshot.request
    user = r.get("user")
    principal = None
    if user is not None:
        principal = Principal(user["subject"], frozenset(user["roles"]), user["scheme"], dict(user.get("claims") or {}))
    req: Request[Any, Any, Any] = Request(
        body=r.get("body"),
        query=r.get("query"),
        params=r.get("params"),
        headers={str(n).lower(): str(v) for n, v in r.get("headers") or ()},
        method=r["method"],
        path=r["path"],
        request_id=snapshot.request_id,
        client=r.get("client"),
        user=principal,
    )
    d = _Decoder()
    state = {k: d.dec(v, child_path("$.state", k)) for k, v in snapshot.state.items()}
    published = [(str(p[0]), d.dec(p[1], f"$.published[{i}].message")) for i, p in enumerate(snapshot.published)]
    events: list[tuple[float, str, Mapping[str, Any] | None]] = [
        (float(e[0]), str(e[1]), None if e[2] is None else d.dec(e[2], f"$.events[{i}].detail"))
        for i, e in enumerate(snapshot.events)
    ]
    if strict and d.missing:
        raise NotRestorable(d.missing)
    lctx = LocalContext._new(
        snapshot.request_id, r["path"], r.get("version"), r["method"] == "HEAD", time.perf_counter() - snapshot.at
    )
    lctx._state = state
    lctx.published = published
    lctx.events = events
    return req, lctx
