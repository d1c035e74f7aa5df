"""`emit_all` hands every artifact family to `on_ready` as soon as it is rendered."""

from __future__ import annotations

from pathlib import Path

import pytest

import gati_compiler.emit as emit
from gati_compiler.pipeline import build

BOOKSTORE = Path(__file__).resolve().parents[3] / "examples" / "bookstore"


@pytest.mark.parametrize("jobs", [1, 2], ids=["serial", "forked workers"])
def test_every_artifact_but_the_manifest_reaches_on_ready_once(jobs: int, monkeypatch: pytest.MonkeyPatch) -> None:
    result = build(BOOKSTORE, write=False, jobs=1)
    assert result.program is not None
    monkeypatch.setattr(emit, "PARALLEL_MIN_ITEMS", 0)  # the small example takes the workers' path too
    batches: list[dict[str, bytes]] = []
    artifacts = emit.emit_all(result.program, project_root="..", settings={}, jobs=jobs, on_ready=batches.append)
    seen = [rel for batch in batches for rel in batch]
    assert len(seen) == len(set(seen))  # no artifact is handed over twice
    assert sorted(seen) == sorted(rel for rel in artifacts if rel != "manifest.json")
    assert all(artifacts[rel] == data for batch in batches for rel, data in batch.items())
    assert len(batches) == len(emit.FAMILIES)
    assert artifacts == emit.emit_all(result.program, project_root="..", settings={}, jobs=1)


def test_the_build_encodes_what_handlers_answer_with_and_decodes_every_named_type(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    from gati_compiler.ir.canonical import reachable

    result = build(BOOKSTORE, write=False, jobs=1)
    assert result.program is not None
    program = result.program
    target = tmp_path / "validators" / "__init__.py"
    target.parent.mkdir()
    target.write_bytes(result.artifacts["validators/__init__.py"])
    spec = importlib.util.spec_from_file_location("_bookstore_validators_under_test", target)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.syspath_prepend(str(BOOKSTORE))  # the decoders build the example's own classes
    spec.loader.exec_module(module)
    answered = reachable((h.gtypes.response for h in program.handlers if h.gtypes.response), program.gtypes)
    assert answered and answered != set(program.gtypes)  # the example has request-only types too
    assert set(module._ENCODERS) == answered
    assert set(module._DECODERS) == set(program.gtypes)
