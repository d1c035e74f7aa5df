"""Timescape at run time: a request of an older API version, through its handler's transformers.

`GatiApp.__call__` serves a `(handler, version)` that `timescape/serving.json` lists
(`ServedVersion`) on its own inline request path, with these steps added:

1. `upgraded`: the request checked with that version's validators (a 422 in the client's own
   shape and paths), as the wire request `{"body", "query", "params", "headers"}` through each
   step's `upgrade` in order, back as the parts of the current request;
2. the current path: hooks, the current decoders (`invalid_request`: a rejection of what an
   upgrade produced is the transformer's fault, GATI524, not the client's), handler, encoder;
3. `downgrade`: the current encoder's JSON value through each step's `downgrade` in reverse, then
   the version's response check; error answers of the current path go through the `error`
   downgrades in reverse (`downgraded_error`).

A transformer that raises is a 500 GATI523, one whose result the next stage rejects a 500
GATI524 (`TransformerFault`, which catch hooks do not see); both name it and are logged. The
chains are compiled once at start-up (`ServedVersion.upgrades`/`downgrades`/`errors`), so a
current-version request pays one `is None` test per step for versioning.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import orjson

from gati_runtime_min.errors import GatiError, HTTPError, RenderedError, envelope
from gati_runtime_min.ingress import Headers
from gati_runtime_min.lifecycle import validation_error
from gati_runtime_min.loader import ServedVersion, StepSpec

if TYPE_CHECKING:
    from gati_runtime_min.lifecycle import Lifecycle, RoutePlan
    from gati_runtime_min.messages import Request

_LOG: Final = logging.getLogger("gati.runtime")


class TransformerFault(GatiError):
    """GATI523/GATI524: a transformer failed; answered as is (no catch hooks, no error downgrade)."""


def _failed(step: StepSpec, kind: str, exc: BaseException, rid: str) -> GatiError:
    name = step.names[kind]
    message = f"transformer {name} ({kind}, step {step.from_tsv} -> {step.to_tsv}) raised {type(exc).__name__}: {exc}"
    _LOG.error("request %s: %s", rid, message, exc_info=exc)
    return TransformerFault(
        "GATI523", f"a Timescape transformer failed: {name} ({kind}, step {step.from_tsv} -> {step.to_tsv})"
    )


def _mismatch(step: StepSpec | None, kind: str, version: str, detail: str, rid: str) -> GatiError:
    if step is None:
        what = "the current handler's response"
    else:
        what = f"the result of transformer {step.names[kind]} ({kind}, step {step.from_tsv} -> {step.to_tsv})"
    message = f"{what} does not match API version {version}"
    _LOG.error("request %s: %s: %s", rid, message, detail)
    return TransformerFault("GATI524", message)


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


def upgraded(
    served: ServedVersion,
    raw_body: Any,
    raw_query: dict[str, Any],
    params: Mapping[str, str],
    hdrs: dict[bytes, bytes],
    rid: str,
) -> tuple[Any, dict[str, Any], Mapping[str, str], dict[bytes, bytes], StepSpec | None]:
    """The client's request checked in its version's shape, then each step's `upgrade` in order:
    the current request's (body, query, params, headers) and the step of the last upgrade (None:
    none ran, the request is unchanged)."""
    decode = served.body_only
    if decode is not None:  # the usual case: a body, and nothing else to check
        try:
            decode(raw_body)
        except served.decode_error as exc:
            raise validation_error("GATI511", exc, "$.body") from None
        wire: dict[str, Any] = {"body": raw_body}
    else:
        wire = decode_old(served, params, raw_query, raw_body, hdrs)
    last: StepSpec | None = None
    for step in served.upgrades:
        try:
            out = step.upgrade(wire)  # type: ignore[misc]  # `upgrades` holds steps that have one
        except Exception as exc:
            raise _failed(step, "upgrade", exc, rid) from None
        if not isinstance(out, dict):
            raise _mismatch(step, "upgrade", step.to_tsv, f"got {type(out).__name__}, not a request object", rid)
        wire, last = out, step
    if last is None:
        return raw_body, raw_query, params, hdrs, None
    if "headers" in wire:
        changed = {str(k).encode("latin-1"): str(v).encode("latin-1") for k, v in wire["headers"].items()}
        hdrs = {**hdrs, **changed}
    return wire.get("body"), wire.get("query", raw_query), wire.get("params", params), hdrs, last


def invalid_request(code: str, exc: Exception, where: str, last: StepSpec | None, rid: str) -> GatiError:
    """A current decoder rejected a request part: the client's 422, unless an upgrade produced it
    (`last`), which makes it that transformer's GATI524."""
    error = validation_error(code, exc, where)
    return error if last is None else _mismatch(last, "upgrade", last.to_tsv, error.detail or error.code, rid)


def decode_upgraded(
    lifecycle: Lifecycle, plan: RoutePlan, req: Request[Any, Any, Any], raw_body: Any, last: StepSpec, rid: str
) -> None:
    """`Lifecycle.decode` on an upgraded request (a rejection is the last upgrade's GATI524)."""
    try:
        lifecycle.decode(plan, req, raw_body)
    except GatiError as exc:
        raise _mismatch(last, "upgrade", last.to_tsv, exc.detail or exc.code, rid) from None


def downgrade(served: ServedVersion, value: Any, rid: str) -> Any:
    """The success body through each step's `downgrade` in reverse, then the version's check."""
    last: StepSpec | None = None
    for step in served.downgrades:
        try:
            value = step.downgrade(value)  # type: ignore[misc]  # `downgrades` holds steps that have one
        except Exception as exc:
            raise _failed(step, "downgrade", exc, rid) from None
        last = step
    try:
        served.check_response(value)
    except served.decode_error as exc:
        raise _mismatch(last, "downgrade", served.version, str(exc), rid) from None
    return value


def downgraded_error(served: ServedVersion, error: HTTPError, path: str, rid: str) -> HTTPError:
    """An error answer of the current path, its body through each step's `error` downgrade in
    reverse (a `RenderedError`), or the transformer's GATI523/GATI524 if one fails."""
    if not served.errors or isinstance(error, TransformerFault):
        return error
    body = orjson.loads(envelope(error, path, rid))
    for step in served.errors:
        try:
            body = step.error(body)  # type: ignore[misc]  # `errors` holds steps that have one
        except Exception as exc:
            return _failed(step, "error", exc, rid)
        if not isinstance(body, dict):
            return _mismatch(step, "error", step.from_tsv, f"got {type(body).__name__}, not an error body", rid)
    return RenderedError(error, orjson.dumps(body))
