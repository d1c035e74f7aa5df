"""Property: after any sequence of edits, an incremental build (through the build cache, in the
same build folder) leaves exactly the bytes a clean build of the same sources writes, and reports
the same diagnostics."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gati_compiler.cache.store import BuildCache
from gati_compiler.pipeline import BuildResult, build
from tests.incremental_project import handler_source, model_source, read_artifacts, write_project

Edit = tuple[str, int, int]

edits = st.tuples(
    st.sampled_from(["answer", "fields", "model", "add", "delete", "break", "comment", "config"]),
    st.integers(0, 4),
    st.integers(0, 3),
)


def _apply(root: Path, edit: Edit) -> None:
    kind, n, k = edit
    handlers = root / "app" / "handlers"
    target = handlers / f"h{n}.py"
    if kind == "answer":
        target.write_text(handler_source(n, f"answer-{k}"))
    elif kind == "fields":
        target.write_text(handler_source(n, fields=k))
    elif kind == "model":
        (root / "app" / "models.py").write_text(model_source(extra_fields=k))
    elif kind == "add":
        target.write_text(handler_source(n, f"new-{k}"))
    elif kind == "delete":
        target.unlink(missing_ok=True)
    elif kind == "break":
        target.write_text(handler_source(n) + "\ndef broken(:\n")
    elif kind == "comment":
        if target.exists():
            with target.open("a") as fh:
                fh.write(f"# comment {k}\n")
    else:
        text = (root / "pyproject.toml").read_text()
        renamed = text.replace('name = "incrapp"\nexclude', f'name = "incrapp{k}"\nexclude', 1)
        (root / "pyproject.toml").write_text(renamed)


def _diags(result: BuildResult) -> list[tuple[str, str, int, int]]:
    return sorted((d.code, d.span.path, d.span.line, d.span.col) for d in result.diagnostics)


@pytest.mark.slow
@settings(max_examples=25)
@given(st.lists(edits, min_size=1, max_size=6))
def test_property_incremental_build_is_byte_identical_to_a_clean_build(steps: list[Edit]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "app"
        write_project(root)
        assert build(root, jobs=1).ok
        for step in steps:
            _apply(root, step)
            incremental = build(root, jobs=1)
            fresh = Path(tmp) / "fresh"
            shutil.rmtree(fresh, ignore_errors=True)
            shutil.copytree(root, fresh, ignore=shutil.ignore_patterns(".gati", "__pycache__"))
            clean = build(fresh, jobs=1)
            assert _diags(incremental) == _diags(clean), step
            if clean.ok:
                assert read_artifacts(root / ".gati") == read_artifacts(fresh / ".gati"), step
                assert incremental.artifacts == clean.artifacts, step


@pytest.mark.slow
@settings(max_examples=20)
@given(st.lists(edits, min_size=1, max_size=6))
def test_property_a_build_cache_kept_in_memory_is_byte_identical_to_a_clean_build(steps: list[Edit]) -> None:
    """As `gatic watch` builds: one `BuildCache` kept in memory across the edits, its IR objects
    interned and its emitted pieces (handler manifests, gtypes.json, the content hash, artifact
    digests) reused, the program saved after each build."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "app"
        write_project(root)
        cache = BuildCache.load(root / ".gati")
        cache.defer = True
        assert build(root, jobs=1, cache=cache).ok
        cache.flush()
        for step in steps:
            _apply(root, step)
            incremental = build(root, jobs=1, cache=cache)
            cache.flush()
            fresh = Path(tmp) / "fresh"
            shutil.rmtree(fresh, ignore_errors=True)
            shutil.copytree(root, fresh, ignore=shutil.ignore_patterns(".gati", "__pycache__"))
            clean = build(fresh, jobs=1)
            assert _diags(incremental) == _diags(clean), step
            if clean.ok:
                assert read_artifacts(root / ".gati") == read_artifacts(fresh / ".gati"), step
                assert incremental.artifacts == clean.artifacts, step
        again = build(root, jobs=1)  # a later process reads what the kept cache saved
        fresh = Path(tmp) / "fresh"
        clean = build(fresh, jobs=1)
        assert _diags(again) == _diags(clean)
        if clean.ok:
            assert again.artifacts == clean.artifacts
