"""`gatic check`'s verification of Timescape transformers on generated values (issue 12, point 4).

Input: the checked program, its `Timeline` and the transformers bound to its steps. Output:
diagnostics in the sink, at each failing transformer's line, naming the input that broke it.

For every bound step, an upgrade must turn each valid request of the older contract into one
the newer contract's decoders accept, and a downgrade must turn each valid success body of the
newer contract into one the older contract's decoders accept. Values come from hypothesis over
the JSON Schema of the input side (wire form), kept only when the input side's own decoders
accept them. The compiler never imports user code, so the transformers run in a child process
(`timescape.verify_child`) against the validators the build emits for each served version
(`emit_serving.version_validators`: plain-data decoders, no origins, with `RESPONSES`), written
into a temporary folder, one package per segment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from pydantic import JsonValue

from gati_compiler.diagnostics import codes
from gati_compiler.diagnostics.model import DiagnosticSink, Span
from gati_compiler.emit._sdk_origins import client_gtype
from gati_compiler.ir.canonical import dump_gtype
from gati_compiler.ir.gtype import GType
from gati_compiler.ir.models import Handler, Program, TransformerDecl
from gati_compiler.timescape.emit_serving import version_validators
from gati_compiler.timescape.steps import HEAD, BoundStep, Segment, version_program

MAX_EXAMPLES: Final = 100
TIMEOUT_S: Final = 600.0
PARTS: Final = ("body", "query", "params", "headers")


@dataclass(frozen=True)
class _Job:
    decl: TransformerDecl
    doc: dict[str, JsonValue]
    what: str  # "request of version X", for the messages


class _Plan:
    """The validators packages (one per segment) and the jobs that use them."""

    def __init__(self, program: Program) -> None:
        self.program = program
        self.modules: dict[tuple[str, str], str] = {}
        self.files: dict[str, bytes] = {}
        self.jobs: list[_Job] = []

    def module(self, seg: Segment) -> tuple[str, dict[str, GType], Handler]:
        """The validators package of `seg` (the emitter's per-version one: request codecs in
        `HANDLERS`, response checks in `RESPONSES`), its plain named types and its handler."""
        source = self.program if seg.first == HEAD else version_program(seg.api, self.program, timescape_current=None)
        handler = next(h for h in source.handlers if h.handlerId == seg.handler_id)
        key = (seg.handler_id, seg.first)
        name = self.modules.get(key)
        if name is None:
            name = self.modules[key] = f"s{len(self.modules)}"
            files = version_validators(source, [seg.handler_id], header="transformer verification")
            for rel, data in files.items():  # `validators/…` paths
                self.files[f"{name}/{rel.partition('/')[2]}"] = data
        return name, {ref: client_gtype(g) for ref, g in source.gtypes.items()}, handler

    def add(self, bound: BoundStep) -> None:
        step = bound.step
        old_name, old_types, old_h = self.module(step.old)
        new_name, new_types, new_h = self.module(step.new)
        response = new_h.gtypes.response
        label = step.from_tsv
        if bound.upgrade is not None and not bound.upgrade.stub:
            doc: dict[str, JsonValue] = {
                "transformer": f"{bound.upgrade.module}:{bound.upgrade.function}",
                "roots": {part: dump_gtype(client_gtype(g)) for part, g in _parts(old_h)},
                "types": _dumped(old_types),
                "inputModule": old_name,
                "inputHandler": old_h.handlerId,
                "inputParts": [p for p, _ in _parts(old_h)],
                "outputModule": new_name,
                "outputHandler": new_h.handlerId,
                "outputParts": [p for p, _ in _parts(new_h)],
            }
            self.jobs.append(_Job(bound.upgrade, doc, f"request of version {label}"))
        if bound.downgrade is not None and not bound.downgrade.stub and response is not None:
            doc = {
                "transformer": f"{bound.downgrade.module}:{bound.downgrade.function}",
                "roots": {"response": dump_gtype(client_gtype(response))},
                "types": _dumped(new_types),
                "inputModule": new_name,
                "inputHandler": new_h.handlerId,
                "inputParts": ["response"],
                "outputModule": old_name,
                "outputHandler": old_h.handlerId,
                "outputParts": ["response"],
            }
            self.jobs.append(_Job(bound.downgrade, doc, f"response of the version after {label}"))


def _dumped(gtypes: Mapping[str, GType]) -> dict[str, JsonValue]:
    return {ref: dump_gtype(g) for ref, g in sorted(gtypes.items())}


def _parts(h: Handler) -> list[tuple[str, GType]]:
    g = h.gtypes
    pairs = [("body", g.request), ("query", g.query), ("params", g.params), ("headers", g.headers)]
    return [(p, t) for p, t in pairs if t is not None]


def verify_transformers(
    program: Program,
    bound: Mapping[tuple[str, str], BoundStep],
    *,
    project_dir: Path,
    source_roots: Sequence[str],
    sink: DiagnosticSink,
    max_examples: int = MAX_EXAMPLES,
) -> int:
    """Run every non-stub transformer of `bound` on generated values; report failures to `sink`.
    Returns how many transformers were checked."""
    plan = _Plan(program)
    for key in sorted(bound):
        plan.add(bound[key])
    if not plan.jobs:
        return 0
    with tempfile.TemporaryDirectory(prefix="gati-verify-") as tmp:
        folder = Path(tmp) / "validators"
        for rel, data in plan.files.items():
            path = folder / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        job_file = Path(tmp) / "jobs.json"
        roots = [str((project_dir / r).resolve()) for r in source_roots]
        job_file.write_text(
            json.dumps(
                {
                    "sourceRoots": roots,
                    "validators": str(folder),
                    "maxExamples": max_examples,
                    "jobs": [j.doc for j in plan.jobs],
                }
            ),
            "utf-8",
        )
        # hypothesis keeps its files in the temporary folder, not in the user's project
        env = {
            **os.environ,
            "PYTHONDONTWRITEBYTECODE": "1",
            "HYPOTHESIS_STORAGE_DIRECTORY": str(Path(tmp) / "hypothesis"),
        }
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "gati_compiler.timescape.verify_child", str(job_file)],
                cwd=project_dir,
                env=env,
                capture_output=True,
                text=True,
                timeout=TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            _unverifiable(sink, plan.jobs, f"verification did not finish within {TIMEOUT_S:.0f} s")
            return len(plan.jobs)
    try:
        results = json.loads(proc.stdout)["results"]
    except (ValueError, KeyError, TypeError):
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        _unverifiable(sink, plan.jobs, "the verification process failed: " + " | ".join(tail))
        return len(plan.jobs)
    for job, result in zip(plan.jobs, results, strict=True):
        if not result.get("ok"):
            _report(sink, job, result)
    return len(plan.jobs)


def _span(decl: TransformerDecl) -> Span:
    return Span.point(decl.source.file, decl.source.line)


def _unverifiable(sink: DiagnosticSink, jobs: Sequence[_Job], why: str) -> None:
    for job in jobs:
        sink.emit(codes.TS_TRANSFORMER_UNVERIFIED, f"transformer `{job.doc['transformer']}`: {why}", _span(job.decl))


def _short(value: object, limit: int = 300) -> str:
    text = json.dumps(value, sort_keys=True, default=repr)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _report(sink: DiagnosticSink, job: _Job, result: Mapping[str, object]) -> None:
    name = job.doc["transformer"]
    problem = str(result.get("problem"))
    if result.get("setup"):
        sink.emit(codes.TS_TRANSFORMER_UNVERIFIED, f"transformer `{name}`: {problem}", _span(job.decl))
        return
    given = _short(result.get("input"))
    if result.get("output") is None and problem.startswith("raised "):
        sink.emit(
            codes.TS_TRANSFORMER_RAISED,
            f"transformer `{name}` {problem} on a valid {job.what}: {given}",
            _span(job.decl),
            help="handle every value the older shape allows (hypothesis found this one)",
        )
        return
    sink.emit(
        codes.TS_TRANSFORMER_INVALID,
        f"transformer `{name}` turned a valid {job.what} into one the other version rejects "
        f"({problem}); input: {given}; output: {_short(result.get('output'))}",
        _span(job.decl),
        help="the result must match the shape of the version it converts to",
    )
