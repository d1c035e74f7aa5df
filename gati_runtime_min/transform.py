"""Timescape at run time: a request of an older API version, through its handler's transformers.

`GatiApp.__call__` serves a `(handler, version)` that `timescape/serving.json` lists
(`ServedVersion`) on its own inline request path, with these steps added:

1. `upgraded` (`ServedVersion.run_upgrade`): the request checked with that version's validators
   (a 422 in the client's own shape and paths), as the wire request `{"body", "query", "params",
   "headers"}` through each step's `upgrade` in order, back as the parts of the current request;
2. the current path: hooks, the current decoders (`invalid_request`: a rejection of what an
   upgrade produced is the transformer's fault, GATI524, not the client's), handler, encoder;
3. `downgrade` (`ServedVersion.run_downgrade`): the current encoder's JSON value through each
   step's `downgrade` in reverse, then the version's response check; error answers of the
   current path go through the `error` downgrades in reverse (`downgraded_error`).

A transformer that raises is a 500 GATI523, one whose result the next stage rejects a 500
GATI524 (`TransformerFault`, which catch hooks do not see); both name it and are logged. The
upgrade and the downgrade chain of each `(handler, version)` are compiled once at start-up into
one straight-line function each (`compiled`); a current-version request never reaches them.
"""

from __future__ import annotations

import linecache
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final

import orjson

from gati_runtime_min.errors import GatiError, HTTPError, RenderedError, envelope
from gati_runtime_min.ingress import Headers
from gati_runtime_min.lifecycle import validation_error
from gati_runtime_min.served import ServedVersion, StepSpec

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
    run = served.run_upgrade or upgrade_chain(served)
    out: tuple[Any, dict[str, Any], Mapping[str, str], dict[bytes, bytes], StepSpec | None]
    out = run(raw_body, raw_query, params, hdrs, rid)
    return out


def current_parts(
    wire: dict[str, Any], raw_query: dict[str, Any], params: Mapping[str, str], hdrs: dict[bytes, bytes], last: StepSpec
) -> tuple[Any, dict[str, Any], Mapping[str, str], dict[bytes, bytes], StepSpec]:
    """The upgraded wire request as the parts of the current request (headers merged over the
    client's; a part the wire request lacks is the client's)."""
    if "headers" in wire:
        changed = {str(k).encode("latin-1"): str(v).encode("latin-1") for k, v in wire["headers"].items()}
        hdrs = {**hdrs, **changed}
    return wire.get("body"), wire.get("query", raw_query), wire.get("params", params), hdrs, last


def not_a_request(step: StepSpec, out: Any, rid: str) -> GatiError:
    """GATI524 for an upgrade that returned something other than a request object."""
    return _mismatch(step, "upgrade", step.to_tsv, f"got {type(out).__name__}, not a request object", rid)


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
    run = served.run_downgrade or downgrade_chain(served)
    return run(value, rid)


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


# ---------------------------------------------------------------- the chains, compiled once
# Each (handler, version) gets its two chains as one straight-line function each, generated at
# start-up once the transformers are final (after telemetry or the playground wrapped them): no
# loop, no per-step attribute look-ups, one call frame for the whole upgrade and one for the whole
# downgrade. Where the build wrote a quick check of the version's body (`timescape/checks/`), the
# chain asks it first and runs the version's decoder only when it does not say yes: the decoded
# value was never used, only the verdict and, on a rejection, the decoder's issues. The generated
# text is registered with `linecache`, so a transformer's traceback in the log shows the line of
# the chain that called it.


def compiled(served: ServedVersion) -> ServedVersion:
    """`served` with `run_upgrade` and `run_downgrade` set to its compiled chains."""
    return replace(served, run_upgrade=upgrade_chain(served), run_downgrade=downgrade_chain(served))


def upgrade_chain(served: ServedVersion) -> Callable[..., Any]:
    """`(body, query, params, headers, rid)` -> `upgraded`'s answer, as one function."""
    names: dict[str, Any] = {
        "check": served.body_only,
        "decode_error": served.decode_error,
        "validation_error": validation_error,
        "decode_old": decode_old,
        "served": served,
        "_failed": _failed,
        "not_a_request": not_a_request,
        "current_parts": current_parts,
    }
    lines = ["def run_upgrade(body, query, params, hdrs, rid):"]
    steps = served.upgrades
    if served.body_only is not None:  # the usual case: a body, and nothing else to check
        lines += _checked(names, served.quick_body, "body", "check", 'validation_error("GATI511", exc, "$.body")')
        if steps:
            lines.append('    wire = {"body": body}')
    else:
        lines.append("    wire = decode_old(served, params, query, body, hdrs)")
    for i, step in enumerate(steps):
        names[f"step{i}"], names[f"upgrade{i}"] = step, step.upgrade
        lines += [
            "    try:",
            f"        wire = upgrade{i}(wire)",
            "    except Exception as exc:",
            f'        raise _failed(step{i}, "upgrade", exc, rid) from None',
            "    if type(wire) is not dict and not isinstance(wire, dict):",
            f"        raise not_a_request(step{i}, wire, rid)",
        ]
    if not steps:
        lines.append("    return body, query, params, hdrs, None")
    else:
        last = f"step{len(steps) - 1}"
        lines += [
            '    if len(wire) == 1 and "body" in wire:  # the usual upgrade: the body alone',
            f'        return wire["body"], query, params, hdrs, {last}',
            f"    return current_parts(wire, query, params, hdrs, {last})",
        ]
    return _define(lines, names, f"upgrade {served.handler_id} {served.version}")


def downgrade_chain(served: ServedVersion) -> Callable[[Any, str], Any]:
    """`(value, rid)` -> the success body through each `downgrade` in reverse, then checked against
    the version's response type, as one function."""
    names: dict[str, Any] = {
        "check_response": served.check_response,
        "decode_error": served.decode_error,
        "_failed": _failed,
        "_mismatch": _mismatch,
        "version": served.version,
        "last": served.downgrades[-1] if served.downgrades else None,
    }
    lines = ["def run_downgrade(value, rid):"]
    for i, step in enumerate(served.downgrades):
        names[f"step{i}"], names[f"downgrade{i}"] = step, step.downgrade
        lines += [
            "    try:",
            f"        value = downgrade{i}(value)",
            "    except Exception as exc:",
            f'        raise _failed(step{i}, "downgrade", exc, rid) from None',
        ]
    lines += _checked(
        names, served.quick_response, "value", "check_response", '_mismatch(last, "downgrade", version, str(exc), rid)'
    )
    lines.append("    return value")
    return _define(lines, names, f"downgrade {served.handler_id} {served.version}")


def _checked(
    names: dict[str, Any], quick: Callable[[Any], bool] | None, value: str, check: str, error: str
) -> list[str]:
    """Lines that run the decoder `check` on `value` and raise `error` on a decode error, skipped
    when the quick check says the decoder accepts it (its False only means: ask the decoder)."""
    if quick is None:
        pad = "    "
        lines = []
    else:
        names["quick"] = quick
        pad = "        "
        lines = [f"    if not quick({value}):"]
    return [
        *lines,
        f"{pad}try:",
        f"{pad}    {check}({value})",
        f"{pad}except decode_error as exc:",
        f"{pad}    raise {error} from None",
    ]


def _define(lines: list[str], names: dict[str, Any], what: str) -> Callable[..., Any]:
    """The one function `lines` define, its globals `names`."""
    text = "\n".join(lines) + "\n"
    filename = f"<timescape chain: {what}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(keepends=True), filename)
    namespace: dict[str, Any] = dict(names)
    exec(compile(text, filename, "exec"), namespace)  # our own text, built above
    fn: Callable[..., Any] = namespace[lines[0][4 : lines[0].index("(")]]
    return fn
