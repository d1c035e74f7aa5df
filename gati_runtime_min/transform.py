"""Serve a client of an older API version through the Timescape transformers of its handler.

Input: a request whose `(handler, version)` `timescape/serving.json` lists (`ServedVersion`).
Path: decode the request with that version's validators (a 422 in the client's own shape and
paths) → the wire request `{"body", "query", "params", "headers"}` → each step's `upgrade` in
order → the current path (current decoders, hooks, handler, current encoder) → each step's
`downgrade` in reverse on the JSON value → the version's response check → send. Error bodies of
the current path go through the `error` downgrades in reverse. A transformer that raises is a 500
GATI523, one whose result the next stage rejects a 500 GATI524; both name it and are logged.
`GatiApp` calls `serve_version` only for listed pairs, so current-version requests never get here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from time import perf_counter
from typing import TYPE_CHECKING, Any, Final

import orjson

from gati_runtime_min.context import LocalContext
from gati_runtime_min.edges import NO_BODY_STATUS, answer_headers
from gati_runtime_min.errors import GatiError, HTTPError, envelope
from gati_runtime_min.ingress import ClientDisconnected, Headers, parse_query, raw_headers, read_json_body
from gati_runtime_min.lifecycle import RoutePlan, invoke, validation_error
from gati_runtime_min.loader import ServedVersion, StepSpec
from gati_runtime_min.messages import _UNSET, Request, Response

if TYPE_CHECKING:
    from gati_runtime_min.app import GatiApp, Receive, Send
    from gati_runtime_min.messages import Principal

_LOG: Final = logging.getLogger("gati.runtime")
_lctx: Final = LocalContext._new


class _Upgraded(Exception):
    """A current decoder rejected what the upgrades produced (becomes GATI524 naming the last one)."""


def _failed(step: StepSpec, kind: str, exc: BaseException, rid: str) -> GatiError:
    name = step.names[kind]
    message = f"transformer {name} ({kind}, step {step.from_tsv} -> {step.to_tsv}) raised {type(exc).__name__}: {exc}"
    _LOG.error("request %s: %s", rid, message, exc_info=exc)
    return GatiError(
        "GATI523", f"a Timescape transformer failed: {name} ({kind}, step {step.from_tsv} -> {step.to_tsv})"
    )


def _mismatch(step: StepSpec | None, kind: str, version: str, detail: str, rid: str) -> GatiError:
    if step is None:
        what = "the current handler's response"
    else:
        what = f"the result of transformer {step.names[kind]} ({kind}, step {step.from_tsv} -> {step.to_tsv})"
    message = f"{what} does not match API version {version}"
    _LOG.error("request %s: %s: %s", rid, message, detail)
    return GatiError("GATI524", message)


def decode_old(
    served: ServedVersion, params: Mapping[str, str], raw_query: Any, raw_body: Any, hdrs: Mapping[bytes, bytes]
) -> dict[str, Any]:
    """The client's request checked in its version's shape (422 with its paths), as the wire request."""
    wire: dict[str, Any] = {}
    for part, code, decode in served.parts:
        if part == "params":
            value = params
        elif part == "query":
            value = raw_query
        else:
            value = raw_body
        try:
            decode(value)
        except served.decode_error as exc:
            raise validation_error(code, exc, f"$.{part}") from None
        wire[part] = value if part == "body" else dict(value)
    names = served.header_names
    if names:
        view = Headers(hdrs)
        wire["headers"] = {n: view[n] for n in names if n in view}
    return wire


def upgrade(served: ServedVersion, wire: dict[str, Any], rid: str) -> tuple[dict[str, Any], StepSpec | None]:
    """Each step's `upgrade` in order; returns the request and the step of the last one that ran."""
    last: StepSpec | None = None
    for step in served.steps:
        fn = step.upgrade
        if fn is None:
            continue
        try:
            out = fn(wire)
        except Exception as exc:
            raise _failed(step, "upgrade", exc, rid) from None
        if not isinstance(out, dict):
            raise _mismatch(step, "upgrade", step.to_tsv, f"got {type(out).__name__}, not a request object", rid)
        wire, last = out, step
    return wire, last


def downgrade(served: ServedVersion, value: Any, rid: str) -> Any:
    """The success body through each step's `downgrade` in reverse, then the version's check."""
    last: StepSpec | None = None
    for step in reversed(served.steps):
        fn = step.downgrade
        if fn is None:
            continue
        try:
            value = fn(value)
        except Exception as exc:
            raise _failed(step, "downgrade", exc, rid) from None
        last = step
    try:
        served.check_response(value)
    except served.decode_error as exc:
        raise _mismatch(last, "downgrade", served.version, str(exc), rid) from None
    return value


def downgrade_error(served: ServedVersion, body: Any, rid: str) -> Any:
    """An error body of the current path through each step's `error` downgrade in reverse."""
    for step in reversed(served.steps):
        fn = step.error
        if fn is None:
            continue
        try:
            body = fn(body)
        except Exception as exc:
            raise _failed(step, "error", exc, rid) from None
        if not isinstance(body, dict):
            raise _mismatch(step, "error", step.from_tsv, f"got {type(body).__name__}, not an error body", rid)
    return body


async def _current(
    app: GatiApp, plan: RoutePlan, args: tuple[Any, ...], lctx: LocalContext, last: StepSpec | None
) -> tuple[int, Any]:
    """The current path on the upgraded request: hooks, current decoders, handler, current encoder.
    Returns the status and the encoded JSON value (`_UNSET`: no body)."""
    lifecycle = app.lifecycle
    req, res = args[0], args[1]
    if plan.before:
        await lifecycle.before(plan, args, lctx)
    try:
        lifecycle.decode(plan, req, req.body)
    except GatiError as exc:
        if last is None:
            raise
        raise _Upgraded(exc.detail or exc.code) from None
    lctx.events.append((perf_counter() - lctx.t0, "handler.start", plan.detail))
    await invoke(plan.fn, args, plan.is_async)
    lctx.events.append((perf_counter() - lctx.t0, "handler.end", plan.detail))
    value = lifecycle.encoded(plan, res)
    status = res._status
    if plan.after or lctx._after:
        await lifecycle.after(plan, args, lctx)
    return status, value


async def serve_version(
    app: GatiApp,
    served: ServedVersion,
    plan: RoutePlan,
    params: Mapping[str, str],
    scope: Mapping[str, Any],
    receive: Receive,
    send: Send,
    ctx: tuple[str, float, str | None, bool, Principal | None, list[tuple[bytes, bytes]] | None],
) -> None:
    """Answer one request of `served.version` (see the module docstring); `ctx` is (request id,
    start time, client address, HEAD, user, the version's extra headers)."""
    rid, t0, client, head, user, extra = ctx
    method: str = scope["method"]
    path: str = scope["path"]
    version = served.version
    key = (plan.handler_id, version)
    app._usage[key] = app._usage.get(key, 0) + 1
    app._seen[version] = t0
    raw: list[tuple[bytes, bytes]] = scope["headers"]
    hdrs = dict(raw)
    if len(hdrs) != len(raw):  # a repeated name: join the values
        hdrs = raw_headers(raw)
    qs: bytes = scope.get("query_string", b"")
    lctx = _lctx(rid, path, version, head, t0)
    current = False  # past the upgrades: errors are the current path's and get the error downgrades
    try:
        try:
            raw_body = await read_json_body(hdrs, receive, app.max_body_bytes) if _reads_body(served, plan) else None
            raw_query = parse_query(qs) if qs else {}
            wire = decode_old(served, params, raw_query, raw_body, hdrs)
            wire, last = upgrade(served, wire, rid)
            new_params = wire.get("params", params)
            new_query = wire.get("query", raw_query)
            if "headers" in wire:
                hdrs = {
                    **hdrs,
                    **{str(k).encode("latin-1"): str(v).encode("latin-1") for k, v in wire["headers"].items()},
                }
            req = Request._new(
                wire.get("body"), new_query, new_params, hdrs, method, path, rid, client, user, new_query
            )
            current = True
            res: Response[Any] = Response(plan.status)
            args: tuple[Any, ...] = (req, res, lctx, plan.gctx)
            deadlines = app.lifecycle.deadlines
            task = deadlines.arm(perf_counter() + plan.timeout) if plan.timeout else None
            timed_out = False
            try:
                try:
                    status, value = await _current(app, plan, args, lctx, last)
                finally:
                    if task is not None:
                        timed_out = deadlines.disarm(task)
                if timed_out:  # the handler swallowed the cancellation: still a timeout
                    raise asyncio.CancelledError
            except _Upgraded as exc:
                current = False
                assert last is not None  # `_current` raises `_Upgraded` only after an upgrade ran
                raise _mismatch(last, "upgrade", last.to_tsv, str(exc), rid) from None
            except BaseException as exc:  # as on the current path: timeouts, catch hooks, compensations
                error = await app.lifecycle.fail(plan, exc, timed_out, task, req, args, lctx)
                if error is None:
                    raise
                raise error from None
            current = False
            if value is not _UNSET and 200 <= status < 300:
                value = downgrade(served, value, rid)
            body = None if value is _UNSET else app.lifecycle.to_json(plan, value)
        except HTTPError as exc:
            await _answer_error(app, served, exc, current, send, path, rid, head, extra)
            app._audit(rid, plan.handler_id, method, path, exc.status, t0, lctx)
            return
    except ClientDisconnected:
        app._audit(rid, plan.handler_id, method, path, 499, t0, lctx)
        return
    body, out = answer_headers(body, status, rid, res._headers)
    if extra:
        out.extend(extra)
    await send({"type": "http.response.start", "status": status, "headers": out})
    await send({"type": "http.response.body", "body": b"" if head or status in NO_BODY_STATUS else body})
    app._audit(rid, plan.handler_id, method, path, status, t0, lctx)


def _reads_body(served: ServedVersion, plan: RoutePlan) -> bool:
    return plan.has_request or served.has_body


async def _answer_error(
    app: GatiApp,
    served: ServedVersion,
    exc: HTTPError,
    current: bool,
    send: Send,
    path: str,
    rid: str,
    head: bool,
    extra: list[tuple[bytes, bytes]] | None,
) -> None:
    """The error answer; one of the current path goes through the `error` downgrades first."""
    if current and any(step.error is not None for step in served.steps):
        try:
            body = orjson.dumps(downgrade_error(served, orjson.loads(envelope(exc, path, rid)), rid))
        except HTTPError as failed:
            exc = failed
        else:
            await _send_error(app, served, exc, body, send, rid, head, extra)
            return
    await _send_error(app, served, exc, envelope(exc, path, rid), send, rid, head, extra)


async def _send_error(
    app: GatiApp,
    served: ServedVersion,
    exc: HTTPError,
    body: bytes,
    send: Send,
    rid: str,
    head: bool,
    extra: list[tuple[bytes, bytes]] | None,
) -> None:
    if exc.status >= 500:
        app._errors[served.version] = app._errors.get(served.version, 0) + 1
    headers = [(b"content-type", b"application/json"), (b"x-request-id", rid.encode())]
    headers.extend((k.encode("latin-1"), v.encode("latin-1")) for k, v in exc.headers.items())
    if extra:
        headers.extend(extra)
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": exc.status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})
