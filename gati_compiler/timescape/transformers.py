"""Bind the sources' Timescape transformers to the steps of the timeline, and gate the missing ones.

Input: a `Timeline` and the program's `TransformerDecl`s (`Program.transformers`). Output:
`bind_transformers` gives every step its `BoundStep` (GATI732-736 for a transformer that binds to
nothing, twice, or with the wrong types); `missing_transformers` reports each breaking step that
has no complete transformer on a side it breaks (GATI737, what `gatic check` fails on). No I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Final

from gati_compiler.config import AcceptedBreak
from gati_compiler.diagnostics import codes
from gati_compiler.diagnostics.model import DiagnosticSink, Span
from gati_compiler.ir.models import TransformerDecl, TransformerKind
from gati_compiler.timescape.diff import Finding
from gati_compiler.timescape.diff.model import Category, Level
from gati_compiler.timescape.steps import HEAD, BoundStep, Step, Timeline

STEPS_PACKAGE: Final = "gati_versions.steps"
# the (parameter, return) type names of each kind, in the step's module
SHAPES: Final[dict[TransformerKind, tuple[str, str]]] = {
    "request": ("OldRequest", "NewRequest"),
    "response": ("NewResponse", "OldResponse"),
    "error": ("ErrorBody", "ErrorBody"),
}
_MARKER: Final[dict[TransformerKind, str]] = {
    "request": "upgrade_request",
    "response": "downgrade_response",
    "error": "downgrade_error",
}
_SLOT: Final[dict[TransformerKind, str]] = {"request": "upgrade", "response": "downgrade", "error": "error"}


def _span(t: TransformerDecl) -> Span:
    return Span.point(t.source.file, t.source.line)


def _name(t: TransformerDecl) -> str:
    return f"`{t.module}.{t.function}`"


def _shape_problem(t: TransformerDecl, step: Step) -> str | None:
    """Why `t`'s annotations are not its step's types (None when they are)."""
    want_in, want_out = SHAPES[t.kind]
    module = f"{STEPS_PACKAGE}.{step.module}"
    expected = f"`({want_in}) -> {want_out}` from `{module}`"
    if len(t.params) != 1:
        return f"takes {len(t.params)} parameters; a {t.kind} transformer takes one: {expected}"
    for got, want in ((t.params[0], want_in), (t.returns or "", want_out)):
        if got == f"{module}.{want}":
            continue
        where = "the return type" if want == want_out and got == (t.returns or "") else "the parameter"
        if got.startswith(STEPS_PACKAGE + ".") and got.endswith("." + want):
            other = got.removesuffix("." + want)
            return f"{where} is `{want}` of `{other}`, another step; this step's types are in `{module}`"
        shown = f"`{got}`" if got else "not annotated"
        return f"{where} is {shown}, not `{want}` of this step: a {t.kind} transformer is {expected}"
    return None


def bind_transformers(
    timeline: Timeline, decls: Sequence[TransformerDecl], sink: DiagnosticSink
) -> dict[tuple[str, str], BoundStep]:
    """Every step of the timeline with the transformers declared for it (keyed `(handler,
    from_tsv)`); a transformer that binds to nothing, twice or with the wrong types is reported."""
    bound = {s.key: BoundStep(step=s) for s in timeline.steps()}
    lock = timeline.lock
    for t in sorted(decls, key=lambda t: (t.source.file, t.source.line, t.function)):  # the later one is the duplicate
        if t.handlerId not in timeline.segments:
            sink.emit(
                codes.TRANSFORMER_UNKNOWN_HANDLER,
                f"transformer {_name(t)} names the handler `{t.handlerId}`, which the working tree does not have",
                _span(t),
                help="a handler id is the `id=` of its decorator, or its function name",
            )
            continue
        version = lock.resolve(t.version)
        if version is None:
            sink.emit(
                codes.TRANSFORMER_UNKNOWN_VERSION,
                f"transformer {_name(t)} names the version `{t.version}`, which the Timescape lock does not know",
                _span(t),
                help="name a recorded version by its TSV, tag, label or a timestamp (`gatic version list`)",
            )
            continue
        step = timeline.step(t.handlerId, version.tsv)
        if step is None:
            seg = timeline.segment_at(t.handlerId, version.tsv)
            why = (
                f"`{t.handlerId}` did not exist at version `{t.version}`"
                if seg is None
                else f"`{t.handlerId}` has not changed since version `{t.version}`"
            )
            sink.emit(
                codes.TRANSFORMER_NO_STEP,
                f"transformer {_name(t)} bridges no step: {why}",
                _span(t),
                help="a transformer names a version whose contract the handler changed afterwards",
            )
            continue
        problem = _shape_problem(t, step)
        if problem is not None:
            sink.emit(codes.TRANSFORMER_WRONG_SHAPE, f"transformer {_name(t)}: {problem}", _span(t))
            continue
        slot = _SLOT[t.kind]
        current = bound[step.key]
        first: TransformerDecl | None = getattr(current, slot)
        if first is not None:
            sink.emit(
                codes.TRANSFORMER_DUPLICATE,
                f"transformer {_name(t)} is a second `@{_MARKER[t.kind]}` for `{t.handlerId}` from "
                f"`{step.from_tsv}`; {_name(first)} ({first.source.file}:{first.source.line}) is the first",
                _span(t),
                help="keep one transformer of each kind per step",
            )
            continue
        if t.kind == "request":
            bound[step.key] = replace(current, upgrade=t)
        elif t.kind == "response":
            bound[step.key] = replace(current, downgrade=t)
        else:
            bound[step.key] = replace(current, error=t)
    return bound


def version_name(timeline: Timeline, tsv: str) -> str:
    """How a version is shown to people: its first tag, else its TSV."""
    if tsv == HEAD:
        return "the working tree"
    for v in timeline.lock.versions:
        if v.tsv == tsv:
            return v.tags[0] if v.tags else tsv
    return tsv


def _covered(f: Finding, accepts: Sequence[AcceptedBreak]) -> bool:
    return any(a.rule in ("*", f.rule) and a.handler in ("*", f.handler) for a in accepts)


def breaking_findings(step: Step, accepts: Sequence[AcceptedBreak] = ()) -> list[Finding]:
    """The step's findings a transformer must bridge: WIRE errors not accepted in the config."""
    return [
        f for f in step.findings if f.level is Level.ERR and f.category is Category.WIRE and not _covered(f, accepts)
    ]


def needs(step: Step, accepts: Sequence[AcceptedBreak] = ()) -> tuple[bool, bool]:
    """Whether the request and the response side need a transformer (accepted breaks do not)."""
    hits = breaking_findings(step, accepts)
    return any(f.side in ("request", "op") for f in hits), any(f.side == "response" for f in hits)


_PROPERTY_REMOVED: Final = (
    "request-property-removed",
    "response-required-property-removed",
    "response-optional-property-removed",
)
_PROPERTY_ADDED: Final = ("new-required-request-property", "request-property-added", "response-property-added")


def describe(step: Step, hits: Sequence[Finding]) -> list[str]:
    """The breaking changes of `step` in words, a removed and an added property under the same
    object (exactly one of each) told as a rename."""
    out: list[str] = []
    used: set[int] = set()
    for side in ("request", "response"):
        removed = [f for f in step.findings if f.side == side and f.rule in _PROPERTY_REMOVED]
        added = [f for f in step.findings if f.side == side and f.rule in _PROPERTY_ADDED]
        parents = {f.path.rpartition(".")[0] for f in removed}
        for parent in sorted(parents):
            gone = [f for f in removed if f.path.rpartition(".")[0] == parent]
            new = [f for f in added if f.path.rpartition(".")[0] == parent]
            if len(gone) == 1 and len(new) == 1 and any(f is gone[0] or f is new[0] for f in hits):
                old_name, new_name = gone[0].path.rpartition(".")[2], new[0].path.rpartition(".")[2]
                out.append(f"{side}-property renamed `{old_name}` -> `{new_name}` in `{step.handler_id}`")
                used |= {id(gone[0]), id(new[0])}
    out += [f"{f.message} in `{step.handler_id}`" for f in hits if id(f) not in used]
    return out


def missing_transformers(
    timeline: Timeline,
    bound: Mapping[tuple[str, str], BoundStep],
    sink: DiagnosticSink,
    accepts: Sequence[AcceptedBreak] = (),
) -> list[BoundStep]:
    """Report (GATI737, at the handler) every breaking step without a complete transformer on a
    side it breaks; an accepted break needs none. Returns the incomplete steps."""
    out: list[BoundStep] = []
    for step in timeline.steps():
        b = bound.get(step.key) or BoundStep(step=step)
        request, response = needs(step, accepts)
        gaps = []
        if request and (b.upgrade is None or b.upgrade.stub):
            gaps.append(("request", b.upgrade))
        if response and (b.downgrade is None or b.downgrade.stub):
            gaps.append(("response", b.downgrade))
        if not gaps:
            continue
        out.append(b)
        hits = breaking_findings(step, accepts)
        said = describe(step, hits)
        more = f", and {len(said) - 1} more" if len(said) > 1 else ""
        stubs = [t for _, t in gaps if t is not None]
        what = "only a stub transformer (" + ", ".join(_name(t) for t in stubs) + ")" if stubs else "no transformer"
        h = step.new.contract
        sink.emit(
            codes.TRANSFORMER_MISSING,
            f"breaking change for clients of {version_name(timeline, step.from_tsv)} "
            f"({said[0]}{more}) with {what}; run `gatic transformers write`",
            Span.point(h.source.file, h.source.line),
            notes=tuple(f"[{f.rule}] {f.message}" for f in hits),
            help="write the missing `"
            + "` and `".join(_MARKER["request" if side == "request" else "response"] for side, _ in gaps)
            + f"` for `{step.handler_id}` from `{step.from_tsv}`, or accept the break in "
            "`[[tool.gati.timescape.accept]]`",
        )
    return out
