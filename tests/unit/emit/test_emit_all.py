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
