"""Replay: a recorded request sent to the app again, in-process, as any API version (`replay`),
and the same request compared across two versions (`compare`).

`replay(app, trace, version)` rebuilds the request from its trace (method, path, query, the
headers worth sending again, the body) and sends it through the app's ASGI callable (with the
middleware of its build settings, as served), naming `version` in `x-gati-version` (no header:
the current version) and the recorded request in `x-gati-replay-of`, so the recorder files the
new run as a replay of it. A header whose value was redacted when recorded is not sent (unless
the caller gives it in `headers`); a body that was cut short when recorded cannot be sent again.

`compare(app, trace, version)` answers "what would this request get as `version`, and what
does it get now?": the left run is the stored request sent as `version`; the right run is the
same request as the current version would receive it. A request recorded at an older version
whose transformers rewrite requests is upgraded first, exactly as the runtime does (that
version's checks, then each step's `upgrade`, oldest first: `transform.upgraded`), then sent with
no version header. The result holds both new traces, the differences of the two answers (status,
the versioning headers, the JSON body: `diff.diff_json`) and of the two runs' steps
(`diff.diff_traces`).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qsl, urlencode

import orjson

from gati_runtime_min.errors import GatiError
from gati_runtime_min.ingress import parse_query
from gati_runtime_min.middleware import build_asgi
from gati_runtime_min.playground.diff import Change, diff_json, diff_traces
from gati_runtime_min.playground.export import request_headers
from gati_runtime_min.playground.trace import Trace, body_value
from gati_runtime_min.transform import upgraded

if TYPE_CHECKING:
    from gati_runtime_min.app import GatiApp

REPLAY_HEADER: Final = "x-gati-replay-of"
VERSION_HEADER: Final = "x-gati-version"
# the answer's headers a replay compares: the type, and what an API version adds
COMPARED_HEADERS: Final = ("content-type", "deprecation", "sunset", "link")
_PARAM: Final = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::[A-Za-z_]+)?\}")


class ReplayError(Exception):
    """A replay that cannot run: `code` is GATI552 (a bad request of the caller: an unknown
    version) or GATI554 (the app cannot run the stored request)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Outgoing:
    """A request as `replay` sends it."""

    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes | None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        body: Any = None
        if self.body is not None:
            try:
                body = orjson.loads(self.body)
            except orjson.JSONDecodeError:
                body = {"$text": self.body.decode("utf-8", "replace")}
        return {"method": self.method, "path": self.path, "query": self.query, "headers": self.headers, "body": body}


@dataclass
class Answer:
    """What the app answered one run."""

    status: int
    headers: list[tuple[str, str]]
    body: Any  # the JSON value; {"$text": ...} when not JSON; None when empty

    def compared(self, ignore: frozenset[str]) -> dict[str, Any]:
        """The part of the answer a comparison looks at."""
        headers = {name: value for name, value in self.headers if name in COMPARED_HEADERS}
        body = self.body
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict) and "requestId" in error:  # an error answer names its own request
            body = {**body, "error": {k: v for k, v in error.items() if k != "requestId"}}
        return {"status": self.status, "headers": headers, "body": without(body, ignore)}


def without(value: Any, keys: frozenset[str]) -> Any:
    """`value` without the object keys in `keys`, at any depth."""
    if not keys:
        return value
    if isinstance(value, dict):
        return {k: without(v, keys) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [without(v, keys) for v in value]
    return value


@dataclass
class ReplayResult:
    """One `compare`: the two runs, their answers, and what differs."""

    request_id: str
    version: str | None  # the version the left run asked for (its TSV)
    current: str | None
    left: Trace
    right: Trace
    left_request: Outgoing
    right_request: Outgoing
    left_answer: Answer
    right_answer: Answer
    response_diff: list[Change]
    trace_diff: list[dict[str, Any]]
    upgraded_from: str | None = None  # the right run's request was upgraded from this version

    @property
    def same(self) -> bool:
        return not self.response_diff

    def to_json(self) -> dict[str, Any]:
        def side(trace: Trace, request: Outgoing, answer: Answer) -> dict[str, Any]:
            return {
                **trace.to_json(),
                "sent": request.to_json(),
                "notes": request.notes,
                "answer": {"status": answer.status, "headers": [list(h) for h in answer.headers], "body": answer.body},
            }

        return {
            "requestId": self.request_id,
            "version": self.version,
            "current": self.current,
            "upgradedFrom": self.upgraded_from,
            "left": side(self.left, self.left_request, self.left_answer),
            "right": side(self.right, self.right_request, self.right_answer),
            "responseDiff": [c.to_json() for c in self.response_diff],
            "traceDiff": self.trace_diff,
            "same": self.same,
        }


def outgoing(trace: Trace, headers: Mapping[str, str] | None = None) -> Outgoing:
    """The recorded request as it can be sent again (no version named: `replay` adds it)."""
    sent, hidden = request_headers(trace, skip=(VERSION_HEADER,))
    extra = {k.lower(): v for k, v in (headers or {}).items()}
    sent.update(extra)
    notes = [f"header {name} was redacted when recorded and is not sent" for name in hidden if name not in extra]
    query = urlencode([(k, v) for k, v in parse_qsl(trace.query, keep_blank_values=True) if k != "version"])
    body = trace.body
    data: bytes | None
    if body is None:
        data = None
    elif isinstance(body, dict) and "$truncated" in body:
        raise ReplayError(
            "GATI554",
            f"request {trace.request_id}: its body was recorded only in part ({body['$truncated']} bytes, "
            "more than the playground's maxBodyBytes); it cannot be sent again",
        )
    elif isinstance(body, dict) and set(body) == {"$text"}:
        data = str(body["$text"]).encode()
    else:
        data = orjson.dumps(body)
        sent.setdefault("content-type", "application/json")
    return Outgoing(trace.method, trace.path, query, list(sent.items()), data, notes)


async def send(app: GatiApp, request: Outgoing) -> Answer:
    """`request` through `app` (its middleware too), in-process; the answer."""
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in request.headers]
    if request.body is not None:
        headers.append((b"content-length", str(len(request.body)).encode()))
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": "http",
        "path": request.path,
        "raw_path": request.path.encode("utf-8"),
        "root_path": "",
        "query_string": request.query.encode("latin-1"),
        "headers": headers,
        "client": ("127.0.0.1", 0),
        "server": ("127.0.0.1", 0),
    }
    sent = False
    status = 0
    out_headers: list[tuple[str, str]] = []
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": request.body or b"", "more_body": False}

    async def reply(message: Any) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            out_headers.extend((k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in message["headers"])
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await build_asgi(app)(scope, receive, reply)
    data = b"".join(chunks)
    return Answer(status, out_headers, body_value(data, len(data), out_headers))


async def run(
    app: GatiApp, trace: Trace, version: str | None, request: Outgoing | None = None
) -> tuple[Trace, Outgoing, Answer]:
    """One replay: the new trace, the request as sent, and the answer."""
    playground = app.playground
    if playground is None or app._recorder is None:
        raise ReplayError("GATI554", "tracing is off for this app: a replay has no trace to show (GATI_TRACE=1)")
    request = request if request is not None else outgoing(trace)
    headers = [(k, v) for k, v in request.headers if k not in (VERSION_HEADER, REPLAY_HEADER)]
    if version is not None:
        headers.append((VERSION_HEADER, version))
    headers.append((REPLAY_HEADER, trace.request_id))
    sent = Outgoing(request.method, request.path, request.query, headers, request.body, request.notes)
    answer = await send(app, sent)
    rid = next((v for k, v in answer.headers if k == "x-request-id"), None)
    new = playground.store.get(rid) if rid is not None else None
    if new is None:
        what = f"the replay of request {trace.request_id} left no trace (answered {answer.status})"
        raise ReplayError("GATI554", what)
    return new, sent, answer


async def replay(app: GatiApp, trace: Trace, version: str | None, *, headers: Mapping[str, str] | None = None) -> Trace:
    """The stored request sent once more as `version` (None: the current one); the new trace."""
    new, _, _ = await run(app, trace, _resolve(app, version), outgoing(trace, headers))
    return new


def _resolve(app: GatiApp, version: str | None) -> str | None:
    if version is None:
        return None
    tsv = app.versions.lookup(version)
    if tsv is None:
        known = ", ".join(app.versions.known) or "none recorded"
        raise ReplayError("GATI552", f"unknown API version {version!r}; known versions: {known}")
    return tsv


async def compare(
    app: GatiApp,
    trace: Trace,
    version: str | None,
    *,
    headers: Mapping[str, str] | None = None,
    ignore: Iterable[str] = (),
) -> ReplayResult:
    """The stored request as `version` (left) and as the current version (right), compared.

    `ignore`: object keys left out of the body comparison (ids, dates: what differs run to run)."""
    asked = _resolve(app, version)
    current = app.versions.current
    request = outgoing(trace, headers)
    left, left_request, left_answer = await run(app, trace, asked, request)
    right_request, upgraded_from = _as_current(app, trace, request)
    right, right_request, right_answer = await run(app, trace, None, right_request)
    keys = frozenset(ignore)
    return ReplayResult(
        request_id=trace.request_id,
        version=asked,
        current=current,
        left=left,
        right=right,
        left_request=left_request,
        right_request=right_request,
        left_answer=left_answer,
        right_answer=right_answer,
        response_diff=diff_json(left_answer.compared(keys), right_answer.compared(keys)),
        trace_diff=diff_traces(left, right),
        upgraded_from=upgraded_from,
    )


def _as_current(app: GatiApp, trace: Trace, request: Outgoing) -> tuple[Outgoing, str | None]:
    """The request as the current version receives it: upgraded by the transformers of the
    version it was recorded at (when they rewrite requests), else as recorded; and that version."""
    recorded = trace.version
    if recorded is None or recorded == app.versions.current or trace.handler_id is None:
        return request, None
    served = app._served.get((trace.handler_id, recorded))
    hit = app._resolve(request.method, request.path)
    if served is None or not served.touches_request or hit is None:
        return request, None
    if isinstance(trace.body, dict) and set(trace.body) == {"$text"}:
        note = f"not upgraded from {recorded}: the recorded body is not JSON"
        return dataclasses.replace(request, notes=[*request.notes, note]), None
    params = hit[1]
    hdrs = {k.encode("latin-1"): v.encode("latin-1") for k, v in request.headers}
    query = parse_query(request.query.encode("latin-1")) if request.query else {}
    try:
        body, query, new_params, hdrs, last = upgraded(served, trace.body, query, params, hdrs, trace.request_id)
    except GatiError as exc:  # the recorded version refused it (or its transformer failed)
        note = f"not upgraded from {recorded}: {exc.code} {exc.detail or ''}".rstrip()
        return dataclasses.replace(request, notes=[*request.notes, note]), None
    if last is None:  # checked in the recorded version's shape; no step rewrites it
        return request, None
    path = request.path
    if dict(new_params) != dict(params) and trace.route is not None:
        path = _PARAM.sub(lambda m: str(new_params.get(m.group(1), m.group(0))), trace.route)
    pairs = [(k, v) for k, vs in query.items() for v in (vs if isinstance(vs, list) else [vs])]
    new_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in hdrs.items()]
    data = orjson.dumps(body) if body is not None else None
    if data is not None and not any(k == "content-type" for k, _ in new_headers):
        new_headers.append(("content-type", "application/json"))
    return Outgoing(request.method, path, urlencode(pairs), new_headers, data, list(request.notes)), recorded
