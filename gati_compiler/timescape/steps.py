"""The version timeline of every handler: which contract each recorded version serves, and the
steps between consecutive contracts that transformers bridge.

Input: a checked `Lock` and the working tree's `ApiContract` (`contract_from_program`). Output: a
`Timeline`, a pure value. A handler's *segments* are its distinct public contracts in version
order (consecutive versions whose contract has the same shape share a segment, a source line
moving is no change); the working tree is the last segment, `HEAD`, when its shape differs from
the latest recorded one. A *step* joins two consecutive segments of one handler and is named by
the first version of its older segment: `(handler, from_tsv)`. Once the newer side is recorded,
the step keeps its name and its shapes, so a transformer written for it stays right.

Each step carries the diff engine's findings for that handler; it is *breaking* when one of them
is an ERR in the WIRE category (a change a transformer can bridge; policy changes cannot be).
No I/O here.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Final

from gati_compiler.ir.models import (
    Dependencies,
    Handler,
    HandlerGTypes,
    Hooks,
    Lifecycle,
    Policies,
    Program,
    TransformerDecl,
    WireDecl,
)
from gati_compiler.timescape.contract import ApiContract, HandlerContract
from gati_compiler.timescape.diff import Category, Finding, Level, diff_contracts
from gati_compiler.timescape.lock import Lock, Version, store_contract

HEAD: Final = "head"  # the working tree, as a step's newer side before it is recorded
_NON_IDENT: Final = re.compile(r"[^0-9A-Za-z]+")


def version_slug(tsv: str) -> str:
    """A Python identifier for a version: `2026-09-01T09:00:00Z` -> `v2026_09_01T090000Z`;
    `head` stays `head`."""
    if tsv == HEAD:
        return HEAD
    day, _, clock = tsv.partition("T")
    return "v" + day.replace("-", "_") + ("T" + clock.replace(":", "") if clock else "")


def ident(text: str) -> str:
    """A handler id as a Python identifier fragment: `books.get` -> `books_get`."""
    out = _NON_IDENT.sub("_", text).strip("_") or "h"
    return out if not out[0].isdigit() else "h_" + out


def step_module(handler_id: str, from_tsv: str) -> str:
    """The module name of a step's shapes inside `gati_versions.steps`."""
    return f"{ident(handler_id)}__{version_slug(from_tsv)}"


@dataclass(frozen=True)
class Segment:
    """One public contract of a handler and the versions that serve it (`HEAD` for the working
    tree when it differs from every recorded version)."""

    handler_id: str
    versions: tuple[str, ...]  # TSVs oldest first, or (HEAD,)
    contract: HandlerContract
    api: ApiContract  # the whole contract of `versions[0]` (named types of this segment resolve in it)

    @property
    def first(self) -> str:
        return self.versions[0]


@dataclass(frozen=True)
class Step:
    """From one segment of a handler to the next: the unit a transformer pair bridges."""

    old: Segment
    new: Segment
    findings: tuple[Finding, ...]

    @property
    def handler_id(self) -> str:
        return self.old.handler_id

    @property
    def from_tsv(self) -> str:
        return self.old.first

    @property
    def to_tsv(self) -> str:
        return self.new.first

    @property
    def key(self) -> tuple[str, str]:
        return self.handler_id, self.from_tsv

    @property
    def module(self) -> str:
        return step_module(self.handler_id, self.from_tsv)

    @property
    def breaking(self) -> bool:
        return any(f.level is Level.ERR and f.category is Category.WIRE for f in self.findings)

    def sides(self) -> tuple[bool, bool]:
        """Whether the request and the response side have a breaking finding."""
        hits = [f for f in self.findings if f.level is Level.ERR and f.category is Category.WIRE]
        request = any(f.side in ("request", "op") for f in hits)
        response = any(f.side == "response" for f in hits)
        return request, response


@dataclass(frozen=True)
class BoundStep:
    """A step and the transformers the sources declare for it (None: none declared)."""

    step: Step
    upgrade: TransformerDecl | None = None  # request, old shape -> new shape
    downgrade: TransformerDecl | None = None  # success response body, new shape -> old shape
    error: TransformerDecl | None = None  # error body, new shape -> old shape (optional)

    @property
    def complete(self) -> bool:
        """Every breaking side has a transformer that is not a stub."""
        request, response = self.step.sides()
        ok_up = not request or (self.upgrade is not None and not self.upgrade.stub)
        ok_down = not response or (self.downgrade is not None and not self.downgrade.stub)
        return ok_up and ok_down


@dataclass(frozen=True)
class Timeline:
    """Every handler's segments and steps; `live` are the recorded versions still served."""

    lock: Lock
    current: ApiContract
    live: tuple[Version, ...]
    head_differs: bool  # the working tree's contract is not exactly the latest recorded one
    segments: Mapping[str, tuple[Segment, ...]] = field(default_factory=dict)
    by_handler: Mapping[str, tuple[Step, ...]] = field(default_factory=dict)

    def steps(self) -> Iterator[Step]:
        for hid in sorted(self.segments):
            yield from self.steps_of(hid)

    def steps_of(self, handler_id: str) -> tuple[Step, ...]:
        return self.by_handler.get(handler_id, ())

    def step(self, handler_id: str, version: str) -> Step | None:
        """The step leaving the segment of `handler_id` that serves `version` (a TSV)."""
        for s in self.steps_of(handler_id):
            if version in s.old.versions:
                return s
        return None

    def chain(self, handler_id: str, tsv: str) -> tuple[Step, ...]:
        """The steps a request of version `tsv` goes through to reach the current handler,
        oldest first (empty for the current contract, or a handler the working tree lacks)."""
        steps = self.steps_of(handler_id)
        for i, s in enumerate(steps):
            if tsv in s.old.versions:
                return steps[i:]
        return ()

    def segment_at(self, handler_id: str, tsv: str) -> Segment | None:
        for seg in self.segments.get(handler_id, ()):
            if tsv in seg.versions:
                return seg
        return None


def _steps(segs: tuple[Segment, ...], handler_id: str) -> tuple[Step, ...]:
    out: list[Step] = []
    for old, new in itertools.pairwise(segs):
        found = diff_contracts(_only(old.api, handler_id), _only(new.api, handler_id), today=date(1970, 1, 1))
        out.append(Step(old=old, new=new, findings=tuple(f for f in found if f.handler == handler_id)))
    return tuple(out)


def _only(api: ApiContract, handler_id: str) -> ApiContract:
    h = api.handler(handler_id)
    return ApiContract(app=api.app, handlers=(h,) if h is not None else (), gtypes=dict(api.gtypes))


def timeline(lock: Lock, current: ApiContract) -> Timeline:
    """The segments of every handler of the working tree across the lock's versions."""
    head_handlers, head_contracts, _ = store_contract(current)
    head_shapes = {hid: head_contracts[ref].shape for hid, ref in head_handlers.items()}
    apis: dict[str, ApiContract] = {}

    def api_of(tsv: str) -> ApiContract:
        if tsv not in apis:
            apis[tsv] = lock.contract(tsv)
        return apis[tsv]

    segments: dict[str, list[Segment]] = {}
    latest_shapes = lock.shapes_of(lock.latest.tsv) if lock.latest is not None else {}
    for h in current.handlers:
        hid = h.handlerId
        segs: list[tuple[str, list[str]]] = []  # (shape, versions)
        for v in lock.versions:
            shape = lock.shapes_of(v.tsv).get(hid)
            if shape is None:
                continue
            if segs and segs[-1][0] == shape:
                segs[-1][1].append(v.tsv)
            else:
                segs.append((shape, [v.tsv]))
        built: list[Segment] = []
        for _shape, tsvs in segs:
            api = api_of(tsvs[0])
            contract = api.handler(hid)
            assert contract is not None
            built.append(Segment(handler_id=hid, versions=tuple(tsvs), contract=contract, api=api))
        if not segs or segs[-1][0] != head_shapes[hid]:
            built.append(Segment(handler_id=hid, versions=(HEAD,), contract=h, api=current))
        segments[hid] = built
    head_differs = set(head_shapes.items()) != set(latest_shapes.items())
    live = tuple(v for v in lock.versions if v.status != "retired")
    return Timeline(
        lock=lock,
        current=current,
        live=live,
        head_differs=head_differs,
        segments={k: tuple(v) for k, v in segments.items()},
        by_handler={k: _steps(tuple(v), k) for k, v in segments.items()},
    )


def version_program(api: ApiContract, current: Program, *, timescape_current: str | None) -> Program:
    """A `Program` holding version `api`'s handlers and types, for the emitters (OpenAPI, SDKs,
    validators) to render that version as they render the working tree. Documentation the lock
    does not keep (summaries, tags) comes from the working tree's handler of the same id."""
    now = {h.handlerId: h for h in current.handlers}
    handlers: list[Handler] = []
    for c in api.handlers:
        doc = now.get(c.handlerId)
        wire = None
        if c.responseHeaders or c.requestMediaTypes is not None or c.responseMediaTypes is not None or c.streaming:
            wire = WireDecl(
                responseHeaders=c.responseHeaders or (),
                consumes=c.requestMediaTypes,
                produces=c.responseMediaTypes,
                streaming=c.streaming,
            )
        life = None
        if c.deprecated or c.sunset is not None or c.stability is not None:
            life = Lifecycle(deprecated=c.deprecated, sunset=c.sunset, stability=c.stability)
        handlers.append(
            Handler(
                handlerId=c.handlerId,
                method=c.method,
                path=c.path,
                pathParams=c.pathParams,
                module=c.module,
                function=c.function,
                isAsync=doc.isAsync if doc is not None else True,
                summary=doc.summary if doc is not None else None,
                description=doc.description if doc is not None else None,
                tags=doc.tags if doc is not None else (),
                status=c.successStatuses[0] if c.successStatuses else 200,
                gtypes=HandlerGTypes(
                    request=c.request, response=c.response, params=c.params, query=c.query, headers=c.headers
                ),
                hooks=Hooks(),
                # rate limits and timeouts are not part of the contract: every version is served
                # by the current handler under its current ones (the 429 of its OpenAPI document)
                policies=doc.policies.model_copy(update={"roles": c.roles})
                if doc is not None
                else Policies(roles=c.roles),
                dependencies=Dependencies(),
                fingerprint=c.fingerprint,
                source=c.source,
                lifecycle=life,
                wire=wire,
            )
        )
    return current.model_copy(
        update={
            "handlers": tuple(handlers),
            "modules": (),
            "globalHooks": (),
            "gtypes": dict(api.gtypes),
            "timescapeCurrent": timescape_current,
        }
    )
