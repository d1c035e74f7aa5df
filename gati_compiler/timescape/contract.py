"""The public contract of an app at one point in time: what Timescape records and compares.

Input: a lowered `Program`. Output: an `ApiContract`, a frozen value with one `HandlerContract`
per handler and every named GType those handlers reach. It is the one interface between the
lock (which stores contracts content-addressed) and the diff engine (a pure function of two
contracts); neither reads the other's storage format.
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import BaseModel, ConfigDict

from gati_compiler.ir.canonical import FingerprintIndex
from gati_compiler.ir.gtype import GType
from gati_compiler.ir.models import Handler, PathParam, Program, ResponseHeader, SourceRef

Stability = Literal["alpha", "beta", "stable"]
JSON: Final = ("application/json",)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class HandlerContract(_Frozen):
    """One handler as an existing client sees it.

    The GType roots may hold `ref`s; they resolve against `ApiContract.gtypes`. `module` and
    `function` are what the generated SDKs name the operation after (rule 46)."""

    handlerId: str
    method: str
    path: str
    pathParams: tuple[PathParam, ...] = ()
    module: str
    function: str
    request: GType | None = None
    response: GType | None = None
    params: GType | None = None
    query: GType | None = None
    headers: GType | None = None
    successStatuses: tuple[int, ...] = (200,)
    roles: tuple[str, ...] = ()
    authRequired: bool = False
    deprecated: bool = False
    sunset: str | None = None  # ISO date
    stability: Stability | None = None
    streaming: bool = False
    # None when the decorator declares nothing (so contracts recorded before these fields
    # existed hash the same): no response headers, JSON bodies
    responseHeaders: tuple[ResponseHeader, ...] | None = None
    requestMediaTypes: tuple[str, ...] | None = None
    responseMediaTypes: tuple[str, ...] | None = None

    def media_types(self, side: Literal["request", "response"]) -> tuple[str, ...]:
        """The body's media types: as declared, else JSON; none without a body."""
        body, declared = (
            (self.request, self.requestMediaTypes) if side == "request" else (self.response, self.responseMediaTypes)
        )
        if body is None:
            return ()
        return declared if declared is not None else JSON

    fingerprint: str
    source: SourceRef


class ApiContract(_Frozen):
    """A whole app's contract: handlers sorted by `handlerId`, named GTypes keyed by ref."""

    app: str
    handlers: tuple[HandlerContract, ...] = ()
    gtypes: dict[str, GType] = {}

    def handler(self, handler_id: str) -> HandlerContract | None:
        for h in self.handlers:
            if h.handlerId == handler_id:
                return h
        return None


def handler_contract(h: Handler) -> HandlerContract:
    life, wire = h.lifecycle, h.wire
    consumes = tuple(sorted(wire.consumes)) if wire is not None and wire.consumes is not None else None
    produces = tuple(sorted(wire.produces)) if wire is not None and wire.produces is not None else None
    return HandlerContract(
        handlerId=h.handlerId,
        method=h.method,
        path=h.path,
        pathParams=h.pathParams,
        module=h.module,
        function=h.function,
        request=h.gtypes.request,
        response=h.gtypes.response,
        params=h.gtypes.params,
        query=h.gtypes.query,
        headers=h.gtypes.headers,
        successStatuses=(h.status,),
        roles=h.policies.roles,
        authRequired=bool(h.policies.roles),
        deprecated=life is not None and life.deprecated,
        sunset=life.sunset if life is not None else None,
        stability=life.stability if life is not None else None,
        streaming=wire is not None and wire.streaming,
        responseHeaders=wire.responseHeaders if wire is not None and wire.responseHeaders else None,
        requestMediaTypes=consumes,
        responseMediaTypes=produces,
        fingerprint=h.fingerprint,
        source=h.source,
    )


def contract_from_program(program: Program) -> ApiContract:
    """The contract of a lowered program: its handlers and the named types they reach."""
    handlers = tuple(sorted((handler_contract(h) for h in program.handlers), key=lambda c: c.handlerId))
    index = FingerprintIndex(program.gtypes)
    roots = [g for c in handlers for g in (c.request, c.response, c.params, c.query, c.headers) if g is not None]
    names = index.closure(roots)
    return ApiContract(app=program.app, handlers=handlers, gtypes={n: program.gtypes[n] for n in names})
