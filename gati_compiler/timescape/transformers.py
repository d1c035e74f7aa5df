"""Binding the transformers the sources declare to the steps of the timeline.

This is the seam between the pipeline and the transformer checks: the pipeline calls
`bind_transformers(timeline, program.transformers, sink)` and emits `serving.json` from the result.
This minimal version only binds (resolve the version with the lock, find the step that leaves the
segment serving it); the diagnostics (GATI73x) come with the full module, which replaces this one.
"""

from __future__ import annotations

from collections.abc import Sequence

from gati_compiler.diagnostics.model import DiagnosticSink
from gati_compiler.ir.models import TransformerDecl
from gati_compiler.timescape.steps import BoundStep, Timeline

_FIELD = {"request": "upgrade", "response": "downgrade", "error": "error"}


def bind_transformers(
    timeline: Timeline, transformers: Sequence[TransformerDecl], sink: DiagnosticSink
) -> dict[tuple[str, str], BoundStep]:
    """`(handler id, from TSV) -> BoundStep` for every step some transformer is declared for."""
    bound: dict[tuple[str, str], BoundStep] = {}
    for decl in transformers:
        version = timeline.lock.resolve(decl.version)
        step = timeline.step(decl.handlerId, version.tsv) if version is not None else None
        if step is None:
            continue
        current = bound.get(step.key) or BoundStep(step=step)
        field = _FIELD[decl.kind]
        if getattr(current, field) is None:
            bound[step.key] = BoundStep(
                step=step,
                upgrade=decl if field == "upgrade" else current.upgrade,
                downgrade=decl if field == "downgrade" else current.downgrade,
                error=decl if field == "error" else current.error,
            )
    return dict(sorted(bound.items()))
