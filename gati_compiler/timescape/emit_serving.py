"""Emit what the runtime needs to serve old versions, and each live version's OpenAPI document.

Input: a `Timeline`, the bound transformers (`(handler id, from TSV) -> BoundStep`), the working
tree's `Program` and the runtime settings. Output: `{relative POSIX path: bytes}`:
`timescape/serving.json`, `timescape/validators/<slug>/__init__.py` and the quick checks
`timescape/checks/<slug>.py` per version serving.json lists, `openapi.<slug>.json` per live
recorded version. Pure; the pipeline writes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from pydantic import JsonValue

from gati_compiler.canonical import canonical_bytes
from gati_compiler.emit._sdk_origins import client_gtype
from gati_compiler.emit.openapi import build_openapi
from gati_compiler.emit.validators import build_validators_part, render_validators
from gati_compiler.ir.canonical import reachable
from gati_compiler.ir.gtype import GType
from gati_compiler.ir.models import Handler, HandlerGTypes, Program, TransformerDecl
from gati_compiler.timescape.apply import manifest_versions
from gati_compiler.timescape.contract import ApiContract
from gati_compiler.timescape.emit_checks import checks_module
from gati_compiler.timescape.emit_types import emit_version_types
from gati_compiler.timescape.steps import BoundStep, Timeline, version_program, version_slug

Bound = Mapping[tuple[str, str], BoundStep]
SERVING = "timescape/serving.json"
CHECKS = "timescape/checks"  # <slug>.py: the quick checks of a version's bodies (`emit_checks`)


def served_chains(tl: Timeline, bound: Bound) -> dict[str, dict[str, tuple[BoundStep, ...]]]:
    """Handler id -> live TSV -> the bound steps of its chain, for the versions whose chain holds
    at least one transformer (the others are served exactly like the current version)."""
    out: dict[str, dict[str, tuple[BoundStep, ...]]] = {}
    for hid in sorted(tl.segments):
        for v in tl.live:
            chain = tuple(bound.get(s.key) or BoundStep(step=s) for s in tl.chain(hid, v.tsv))
            if any(b.upgrade or b.downgrade or b.error for b in chain):
                out.setdefault(hid, {})[v.tsv] = chain
    return out


def _target(decl: TransformerDecl | None) -> JsonValue:
    return f"{decl.module}:{decl.function}" if decl is not None else None


_REQUEST_PARTS: Final = ("request", "params", "query", "headers")


def request_unchanged(old: ApiContract, new: ApiContract, handler_id: str) -> bool:
    """Whether a handler's request parts are the same in two contracts: the same roots, path
    parameters and media types, and the same definitions of every named type they reach."""
    o, n = old.handler(handler_id), new.handler(handler_id)
    if o is None or n is None:
        return False
    same = (o.pathParams, o.requestMediaTypes) == (n.pathParams, n.requestMediaTypes)
    if not same or any(getattr(o, part) != getattr(n, part) for part in _REQUEST_PARTS):
        return False
    roots = [g for part in _REQUEST_PARTS if (g := getattr(o, part)) is not None]
    refs = reachable(roots, old.gtypes)
    return refs == reachable(roots, new.gtypes) and all(old.gtypes[r] == new.gtypes.get(r) for r in refs)


def build_serving(tl: Timeline, bound: Bound) -> dict[str, JsonValue]:
    """The content of `timescape/serving.json`. `checkRequest` is false for a version whose chain
    upgrades nothing and whose request parts are the current ones: the current decoders then make
    exactly the check of that version, so the runtime does not make it twice."""
    handlers: dict[str, JsonValue] = {}
    contracts: dict[str, ApiContract] = {}
    for hid, by_version in served_chains(tl, bound).items():
        rows: dict[str, JsonValue] = {}
        for tsv, chain in by_version.items():
            upgrades = any(b.upgrade is not None for b in chain)
            steps: list[JsonValue] = [
                {
                    "from": b.step.from_tsv,
                    "to": b.step.to_tsv,
                    "upgrade": _target(b.upgrade),
                    "downgrade": _target(b.downgrade),
                    "error": _target(b.error),
                }
                for b in chain
            ]
            if tsv not in contracts:
                contracts[tsv] = tl.lock.contract(tsv)
            check = upgrades or not request_unchanged(contracts[tsv], tl.current, hid)
            rows[tsv] = {"validators": version_slug(tsv), "steps": steps, "checkRequest": check}
        handlers[hid] = rows
    latest = tl.lock.latest
    return {
        "current": latest.tsv if latest is not None and not tl.head_differs else None,
        "versions": manifest_versions(tl.lock),
        "handlers": handlers,
    }


def _plain(g: GType | None) -> GType | None:
    return client_gtype(g) if g is not None else None


def version_validators(program: Program, handler_ids: Sequence[str], *, header: str) -> dict[str, bytes]:
    """A validators module (no class map: plain values) for `handler_ids` of a version's
    `program`, with `RESPONSES`; paths as the validators emitter names them (`validators/...`)."""
    gtypes, handlers = _plain_handlers(program, handler_ids)
    decoders = build_validators_part(gtypes, handlers, "dec", aliases={}, responses=True)
    return render_validators(gtypes, handlers, header=header, decoders=decoders, encoders=None)


def version_checks(program: Program, handler_ids: Sequence[str], *, header: str) -> str | None:
    """The quick checks (`emit_checks`) of the same handlers and types as `version_validators`."""
    gtypes, handlers = _plain_handlers(program, handler_ids)
    return checks_module(gtypes, handlers, header=header)


def _plain_handlers(program: Program, handler_ids: Sequence[str]) -> tuple[dict[str, GType], list[Handler]]:
    """`handler_ids` of `program` and the named types they reach, as plain values (no origins)."""
    wanted = set(handler_ids)
    handlers: list[Handler] = []
    for h in program.handlers:
        if h.handlerId not in wanted:
            continue
        g = h.gtypes
        plain = HandlerGTypes(
            request=_plain(g.request), response=_plain(g.response), params=_plain(g.params), query=_plain(g.query)
        )
        handlers.append(h.model_copy(update={"gtypes": plain}))
    parts = (part for h in handlers for part in (h.gtypes.request, h.gtypes.response, h.gtypes.params, h.gtypes.query))
    roots = [g for g in parts if g is not None]
    names = reachable(roots, program.gtypes)
    gtypes = {ref: client_gtype(program.gtypes[ref]) for ref in sorted(names)}
    return gtypes, handlers


def emit_timescape(
    tl: Timeline,
    bound: Bound,
    program: Program,
    settings: Mapping[str, JsonValue],
    *,
    header: str,
    programs: Mapping[str, Program] | None = None,
) -> dict[str, bytes]:
    """Every Timescape artifact of a build with recorded versions. `programs`: each live
    version's `version_program`, when the caller has them already (the SDKs' `sdk_versions`)."""
    out = emit_version_types(tl, header=header)
    out[SERVING] = canonical_bytes(build_serving(tl, bound))
    listed: dict[str, list[str]] = {}
    for hid, by_version in served_chains(tl, bound).items():
        for tsv in by_version:
            listed.setdefault(tsv, []).append(hid)
    for v in tl.live:
        given = programs.get(v.tsv) if programs is not None else None
        vp = given or version_program(tl.lock.contract(v.tsv), program, timescape_current=v.tsv)
        slug = version_slug(v.tsv)
        out[f"openapi.{slug}.json"] = canonical_bytes(build_openapi(vp, settings))
        if v.tsv in listed:
            files = version_validators(vp, listed[v.tsv], header=header)
            for rel, data in files.items():
                out[f"timescape/validators/{slug}/{rel.split('/', 1)[1]}"] = data
            checks = version_checks(vp, listed[v.tsv], header=header)
            if checks is not None:
                out[f"{CHECKS}/{slug}.py"] = checks.encode()
    return dict(sorted(out.items()))
