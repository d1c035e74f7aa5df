"""The playground's page and its JSON API under `/_gati/playground` (served with the dev flag only).

    GET    /_gati/playground                          the page (`static/playground.html`)
    GET    /_gati/playground/static/<file>            its script and style sheet
    GET    /_gati/playground/api/traces?limit=&handler=   the newest traces' summaries, newest first
    GET    /_gati/playground/api/traces/<rid>         one trace (`Trace.to_json`)
    GET    /_gati/playground/api/traces/<rid>/otlp    its spans as OTLP/JSON
    GET    /_gati/playground/api/traces/<rid>/test    a pytest module replaying it (`export_tests`)
    GET    /_gati/playground/api/versions             the recorded API versions
    POST   /_gati/playground/api/replay               {"requestId", "version"}: both runs and their diffs
    GET    /_gati/playground/api/gates                the armed gates and the paused requests
    POST   /_gati/playground/api/gates                arm a gate (201)
    DELETE /_gati/playground/api/gates/<id>           disarm it (204)
    POST   /_gati/playground/api/paused/<id>/resume   {"state": {...}} optional: go on (with that state)
    POST   /_gati/playground/api/paused/<id>/abort    end the request with GATI550

Errors use the runtime's envelope: GATI552 for a bad call (400; 403 for a write from another
site), GATI553 for an unknown trace, gate or paused request (404), GATI554 for a replay that could
not run (500), GATI520/521 for a path or method the API does not have. An API call that carries an `Origin` (a
browser's) must name this very host, and a write (POST, DELETE) needs `content-type:
application/json` (415 GATI514 otherwise): a page on another site can neither read traces nor arm
a gate or run a replay on a developer's machine (a cross-site form post is neither JSON nor
same-origin).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qs, unquote, urlsplit

import orjson

from gati_runtime_min.errors import GatiError, HTTPError, envelope

if TYPE_CHECKING:
    from gati_runtime_min.playground import Playground
    from gati_runtime_min.playground.gates import Paused
    from gati_runtime_min.playground.trace import Trace

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Answer = tuple[int, bytes | None, list[tuple[bytes, bytes]]]

PREFIX: Final = "/_gati/playground"
STATIC_DIR: Final = Path(__file__).parent / "static"
_STATIC: Final[Mapping[str, bytes]] = {
    "playground.js": b"text/javascript; charset=utf-8",
    "playground.css": b"text/css; charset=utf-8",
}
_JSON: Final = (b"content-type", b"application/json")
_NO_STORE: Final = (b"cache-control", b"no-store")
# every asset is ours: nothing loads from elsewhere, no inline script, no framing by other sites
_CSP: Final = (
    b"content-security-policy",
    b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    b"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
)
_NOSNIFF: Final = (b"x-content-type-options", b"nosniff")
_MAX_API_BODY: Final = 1_048_576  # a gate, a replay request, or a paused request's edited state
_ID: Final = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
_LIMIT_MAX: Final = 10_000


def bad(message: str) -> GatiError:
    return GatiError("GATI552", message)


def missing(message: str) -> GatiError:
    return GatiError("GATI553", message)


def cross_site(message: str) -> GatiError:
    """GATI552 answered 403: a write from a page of another origin."""
    err = GatiError("GATI552", message)
    err.status = 403
    return err


class PlaygroundEndpoints:
    """Every request whose path starts with `/_gati/playground` (the app sends them here only in dev)."""

    def __init__(self, playground: Playground) -> None:
        self.playground = playground
        self.app = playground.app
        self.page = (STATIC_DIR / "playground.html").read_bytes()
        self.static = {name: (STATIC_DIR / name).read_bytes() for name in _STATIC}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        method: str = scope["method"]
        rid = self.app.ids.new()
        head = method == "HEAD"
        try:
            status, body, headers = await self.answer(scope, receive, method, path)
        except HTTPError as exc:
            status, body = exc.status, envelope(exc, path, rid)
            headers = [_JSON, _NO_STORE]
            headers.extend((k.encode("latin-1"), v.encode("latin-1")) for k, v in exc.headers.items())
        out = [*headers, (b"x-request-id", rid.encode()), _NOSNIFF]
        payload = b"" if body is None else body
        if status != 204:
            out.append((b"content-length", str(len(payload)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": b"" if head or status == 204 else payload})

    # routing
    async def answer(self, scope: Scope, receive: Receive, method: str, path: str) -> Answer:
        rest = path[len(PREFIX) :]
        if rest in ("", "/"):
            self._allow(method, path, ("GET", "HEAD"))
            return 200, self.page, [(b"content-type", b"text/html; charset=utf-8"), _NO_STORE, _CSP]
        if rest.startswith("/static/"):
            self._allow(method, path, ("GET", "HEAD"))
            name = rest[len("/static/") :]
            kind = _STATIC.get(name)
            if kind is None:
                raise GatiError("GATI520", f"no playground file {name!r}")
            return 200, self.static[name], [(b"content-type", kind), _NO_STORE]
        if not rest.startswith("/api/"):
            raise GatiError("GATI520", f"no route for {path}")
        self._check_origin(scope)
        parts = [unquote(p) for p in rest[len("/api/") :].split("/")]
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        match parts:
            case ["traces"]:
                self._allow(method, path, ("GET", "HEAD"))
                return self._traces(query)
            case ["traces", rid]:
                self._allow(method, path, ("GET", "HEAD"))
                return _json(self._trace(rid).to_json())
            case ["traces", rid, "otlp"]:
                self._allow(method, path, ("GET", "HEAD"))
                return _json(self._trace(rid).to_otlp(self.app.build.app))
            case ["traces", rid, "test"]:
                self._allow(method, path, ("GET", "HEAD"))
                return self._test_module(self._trace(rid))
            case ["versions"]:
                self._allow(method, path, ("GET", "HEAD"))
                return _json(self.versions())
            case ["replay"]:
                self._allow(method, path, ("POST",))
                data = await self._body(scope, receive)
                return _json(await self._replay(data))
            case ["gates"]:
                self._allow(method, path, ("GET", "HEAD", "POST"))
                if method == "POST":
                    return await self._arm(scope, receive)
                gates = self.playground.gates
                return _json({"gates": [g.to_json() for g in gates.list()], "paused": _paused(gates.paused())})
            case ["gates", gate_id]:
                self._allow(method, path, ("DELETE",))
                self._check_write(scope)
                if not self.playground.gates.remove(gate_id):
                    raise missing(f"no gate {gate_id!r}")
                return 204, None, [_NO_STORE]
            case ["paused", pause_id, "resume"]:
                self._allow(method, path, ("POST",))
                data = await self._body(scope, receive)
                return _json(self._resume(pause_id, data))
            case ["paused", pause_id, "abort"]:
                self._allow(method, path, ("POST",))
                await self._body(scope, receive)
                if not self.playground.gates.abort(pause_id):
                    raise missing(f"no paused request {pause_id!r} (resumed, aborted or timed out)")
                return _json({"aborted": pause_id})
        raise GatiError("GATI520", f"no route for {path}")

    @staticmethod
    def _allow(method: str, path: str, allowed: tuple[str, ...]) -> None:
        if method not in allowed:
            raise GatiError("GATI521", f"{method} is not allowed on {path}", headers={"allow": ", ".join(allowed)})

    # writes: JSON from this very origin
    @staticmethod
    def _check_origin(scope: Scope) -> None:
        """An API call from a browser page must come from this very origin: another site's page can
        neither write nor read (a read allowed by the app's own CORS settings included)."""
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
        origin = headers.get("origin")
        if origin is None:
            return  # a same-origin read, or no browser at all (curl, a test client)
        host = headers.get("host", "")
        try:
            parts = urlsplit(origin)
            same = parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower() and bool(host)
        except ValueError:
            same = False
        if not same:
            raise cross_site(f"a playground call from origin {origin!r}, not this server ({host or 'no Host'})")

    @staticmethod
    def _check_write(scope: Scope) -> None:
        for name, value in scope.get("headers", ()):
            if name.lower() == b"content-type":
                if value.decode("latin-1").split(";")[0].strip().lower() == "application/json":
                    return
                break
        raise GatiError("GATI514", "a playground write needs content-type: application/json")

    async def _body(self, scope: Scope, receive: Receive) -> dict[str, Any]:
        """The JSON object of a write (an empty body is `{}`), once `_check_write` passed."""
        self._check_write(scope)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise bad("the client went away before sending the body")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > _MAX_API_BODY:
                raise GatiError("GATI515", f"a playground call's body is limited to {_MAX_API_BODY} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        raw = b"".join(chunks)
        if not raw.strip():
            return {}
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise bad(f"the body is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise bad(f"the body must be a JSON object, not {type(data).__name__}")
        return data

    # the endpoints
    def _trace(self, rid: str) -> Trace:
        trace = self.playground.store.get(rid) if _ID.match(rid) else None
        if trace is None:
            raise missing(f"no trace of request {rid!r} (never recorded, or no longer among the newest kept)")
        return trace

    def _traces(self, query: Mapping[str, list[str]]) -> Answer:
        store = self.playground.store
        raw_limit = (query.get("limit") or ["100"])[-1]
        try:
            limit = int(raw_limit)
        except ValueError:
            raise bad(f"limit={raw_limit!r} is not a whole number") from None
        if not 1 <= limit <= _LIMIT_MAX:
            raise bad(f"limit={limit} is out of range 1..{_LIMIT_MAX}")
        handler = (query.get("handler") or [""])[-1] or None
        traces = store.recent(limit, handler_id=handler)
        return _json({"added": store.added, "traces": [t.summary() for t in traces]})

    def _test_module(self, trace: Trace) -> Answer:
        from gati_runtime_min.playground.export import export_tests

        source = export_tests([trace]).encode("utf-8")
        name = re.sub(r"[^A-Za-z0-9_]", "_", trace.request_id)
        disposition = f'inline; filename="test_replay_{name}.py"'.encode()
        return 200, source, [(b"content-type", b"text/x-python; charset=utf-8"), (b"content-disposition", disposition)]

    def versions(self) -> dict[str, Any]:
        resolver = self.app.versions
        return {
            "current": resolver.current,
            "versions": [{"version": v["tsv"], "tags": v["tags"], "status": v["status"]} for v in resolver.describe()],
        }

    async def _replay(self, data: Mapping[str, Any]) -> dict[str, Any]:
        rid = data.get("requestId")
        version = data.get("version")
        if not isinstance(rid, str) or not rid:
            raise bad('"requestId" (a string) is required')
        if not isinstance(version, str) or not version:
            raise bad('"version" (a TSV, tag or label of a recorded version) is required')
        trace = self._trace(rid)
        tsv = self.app.versions.lookup(version)
        if tsv is None:
            known = ", ".join(self.app.versions.known) or "none recorded"
            raise bad(f"unknown API version {version!r}; known versions: {known}")
        from gati_runtime_min.playground.replay import compare

        try:
            result = await compare(self.app, trace, tsv)
        except HTTPError:
            raise
        except Exception as exc:
            raise GatiError("GATI554", f"replay of {rid} as {version} failed: {type(exc).__name__}: {exc}") from exc
        out: dict[str, Any] = result.to_json()
        return out

    async def _arm(self, scope: Scope, receive: Receive) -> Answer:
        data = await self._body(scope, receive)
        try:
            gate = self.playground.gates.add(data)
        except ValueError as exc:
            raise bad(f"not a gate: {exc}") from None
        return _json(gate.to_json(), 201)

    def _resume(self, pause_id: str, data: Mapping[str, Any]) -> dict[str, Any]:
        state = data.get("state")
        if state is not None and not isinstance(state, dict):
            raise bad('"state" must be a JSON object (the request\'s whole lctx state), or absent')
        try:
            done = self.playground.gates.resume(pause_id, state)
        except ValueError as exc:
            raise bad(f"the edited state cannot be restored: {exc}") from None
        if not done:
            raise missing(f"no paused request {pause_id!r} (resumed, aborted or timed out)")
        return {"resumed": pause_id, "stateReplaced": state is not None}


def _paused(paused: Iterable[Paused]) -> list[dict[str, Any]]:
    """Each paused request's JSON form, and its state also as JSON text (`stateText`), as Python
    writes it: an editor that keeps the text keeps `1.0` a float (JavaScript would make it `1`)."""
    out = []
    for p in paused:
        data = p.to_json()
        state = data.get("snapshot", {}).get("state")
        data["stateText"] = orjson.dumps(state, option=orjson.OPT_INDENT_2, default=str).decode()
        out.append(data)
    return out


def _json(value: Any, status: int = 200) -> Answer:
    # `default=str`: an attribute value orjson cannot write (a recorded oddity) as its text
    return status, orjson.dumps(value, default=str), [_JSON, _NO_STORE]
