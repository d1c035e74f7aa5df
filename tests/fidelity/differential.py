"""Decoders vs pydantic strict JSON over a built program's types (the corpora of issue 11).

For each type: documents drawn from its JSON Schema and one mutation of each; a disagreement is a
document one side accepts and the other refuses (outside SPEC section 4's decided differences),
or one both accept but decode to different values. Disagreements that come from pydantic
iterating a JSON string or object as an `Iterable[X]` (docs/pydantic.md) are counted apart.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any, cast

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from pydantic import TypeAdapter, ValidationError
from pydantic.errors import PydanticUserError

from gati_compiler.emit.validators import emit_validators
from gati_compiler.ir.canonical import reachable
from gati_compiler.ir.jsonschema import gtypes_json_schema
from gati_compiler.ir.models import Program
from tests.fidelity.lazy_iterables import iterates_text_or_object
from tests.fidelity.runtime_config import ON_RUNTIME_CONFIG, adapter_as_read, runtime_configured
from tests.property.test_decoder_differential import _comparable, _draft7, _ints, _mutate

ON_ITERABLES = "on Iterable over a JSON string or object (documented difference)"


def load_decoders(program: Program) -> Any:
    out = Path(tempfile.mkdtemp(prefix="gati-corpus-"))
    for rel, data in emit_validators(program.gtypes, [], header="corpus").items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(data)
    spec = importlib.util.spec_from_file_location(
        f"_gati_corpus_{id(program)}", out / "validators" / "__init__.py", submodule_search_locations=[]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _verdict_pydantic(adapter: TypeAdapter[Any], doc: Any) -> tuple[bool, Any]:
    """pydantic strict's verdict and its value made comparable: a lazy `Iterable[...]` is consumed
    here, so an item it refuses only then counts as refused, as our eager decoder does."""
    try:
        return True, _comparable(adapter.validate_json(json.dumps(doc), strict=True))
    except ValidationError:
        return False, None


def compare(decoders: Any, ref: str, adapter: TypeAdapter[Any], doc: Any) -> str | None:
    """None when both sides agree; otherwise what differs."""
    value = json.loads(json.dumps(doc))
    try:
        ours = decoders.decode(ref, value)
        ours_ok, issues = True, []
    except decoders.DecodeError as exc:
        ours_ok, issues, ours = False, exc.issues, None
    theirs_ok, theirs = _verdict_pydantic(adapter, doc)
    if ours_ok and not theirs_ok:
        theirs_ok, theirs = _verdict_pydantic(adapter, _ints(doc))  # SPEC: integral floats are ints
        if not theirs_ok:
            return "decoder accepts, pydantic refuses"
    if theirs_ok and not ours_ok:
        if all(i.code in ("literal", "enum", "union") and i.actual.startswith("bool") for i in issues):
            return None  # SPEC: `true` is never a number, pydantic lets it match `Literal[1]`
        return "pydantic accepts, decoder refuses"
    if ours_ok and _comparable(ours) != theirs:
        return "both accept, values differ"
    return None


def _compare_type(
    decoders: Any,
    ref: str,
    adapter: TypeAdapter[Any],
    strategy: Any,
    per_type: int,
    label: str,
    as_read: TypeAdapter[Any] | None = None,
) -> tuple[int, list[str], Counter[str]]:
    """(documents compared, disagreements, disagreements on documented differences by kind).
    `as_read`: pydantic's validator without the configuration set at run time (runtime_config.py)."""
    found: list[str] = []
    apart: Counter[str] = Counter()
    documents = 0

    @settings(
        max_examples=per_type, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        nonlocal documents
        doc = data.draw(strategy)
        for candidate in (doc, _mutate(data.draw, doc)):
            documents += 1
            problem = compare(decoders, ref, adapter, candidate)
            if problem is None:
                continue
            if iterates_text_or_object(adapter, candidate):
                apart[ON_ITERABLES] += 1
            elif as_read is not None and compare(decoders, ref, as_read, candidate) is None:
                apart[ON_RUNTIME_CONFIG] += 1
            else:
                found.append(f"{label}: {problem}: {json.dumps(candidate)[:200]}")

    run()
    return documents, found, apart


def compare_many(
    program: Program,
    root: Path,
    chosen: list[tuple[str, str]],
    per_type: int,
    clean: set[tuple[str, str]] | None = None,
) -> dict[str, int]:
    """Compare every chosen type (only those in `clean`, when given)."""
    decoders = load_decoders(program)
    counts: Counter[str] = Counter()
    by_handler = {h.handlerId: h for h in program.handlers}
    for i, (module, name) in enumerate(chosen):
        if clean is not None and (module, name) not in clean:
            counts["types not compared (they reach a diagnostic)"] += 1
            continue
        handler = by_handler.get(f"h{i}")
        if handler is None or handler.gtypes.request is None:
            continue
        request = handler.gtypes.request
        ref = getattr(request, "ref", None)
        if ref is None:
            continue
        try:
            tp = getattr(importlib.import_module(module), name)
            adapter: TypeAdapter[Any] = TypeAdapter(tp)
            as_read = adapter_as_read(tp, runtime_configured(program, set(reachable([request], program.gtypes))))
        except (PydanticUserError, ImportError, AttributeError, TypeError, NameError):
            counts["types pydantic cannot build here"] += 1
            continue
        schema = gtypes_json_schema(program.gtypes, request)
        strategy = from_schema(_draft7(schema, cast(dict[str, Any], schema.get("$defs", {}))))
        try:
            documents, found, apart = _compare_type(
                decoders, ref, adapter, strategy, per_type, f"{module}.{name}", as_read
            )
        except Exception as exc:  # hypothesis-jsonschema cannot draw from every schema
            counts[f"types without documents ({type(exc).__name__})"] += 1
            continue
        counts["types compared"] += 1
        counts["documents"] += documents
        counts["disagreements"] += len(found)
        counts.update(apart)
        for line in found[:3]:
            print(line, file=sys.stderr)
    counts.setdefault("disagreements", 0)
    return dict(counts)
