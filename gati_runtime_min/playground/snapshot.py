"""Snapshots of a request at one step (`take`, `restore`), and the redaction of secrets in what
the playground keeps and shows (`Redactor`).

A snapshot holds the request, the `lctx` state, the messages published so far and the lifecycle
events, at a position such as `"before hook auth"` or `"after handler"`. The state, messages and
events are kept in the typed JSON form (`jsonform.py`), so that `restore` gives back equal values;
what cannot come back (a value kept as its `repr`, a redacted secret) is named, never dropped in
silence. The request part is in the plain JSON form, what a client would send; `restore` gives a
`Request` over those values.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

from gati_runtime_min.context import LocalContext
from gati_runtime_min.messages import Principal, Request
from gati_runtime_min.playground.jsonform import (
    REDACTED,
    Decoder,
    Encoder,
    NotRestorable,
    Unrestorable,
    child_path,
    decode,
    decode_state,
    encode,
)

if TYPE_CHECKING:
    from gati_runtime_min.app import GatiApp

__all__ = [
    "DEFAULT_HEADERS",
    "DEFAULT_KEYS",
    "REDACTED",
    "NotRestorable",
    "Redactor",
    "StateSnapshot",
    "Unrestorable",
    "child_path",
    "decode",
    "decode_state",
    "encode",
    "restore",
    "take",
]

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


def _norm(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "")


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
        enc = Encoder(self, typed=False)
        return enc.enc(value, "$", 0), enc.redacted


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
    plain = Encoder(redactor, typed=False)
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
    enc = Encoder(redactor, typed=True)
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
    d = Decoder()
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
