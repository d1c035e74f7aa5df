"""`watch.prime`: a watch session whose first build was answered by the build cache fills its emit
memo while idle, so the first edit reuses the validators parts, and still writes exactly what a
clean build writes."""

from __future__ import annotations

import shutil
from pathlib import Path

from gati_compiler.cache.store import BuildCache
from gati_compiler.emit.memo import EmitMemo
from gati_compiler.pipeline import build
from gati_compiler.watch.loop import _watch_cache
from gati_compiler.watch.prime import prime
from tests.incremental_project import handler_source, read_artifacts, write_project


def _memo(cache: BuildCache) -> EmitMemo | None:
    return cache.memo


def test_a_primed_memo_serves_the_first_edit_with_the_bytes_of_a_clean_build(tmp_path: Path) -> None:
    root = tmp_path / "app"
    write_project(root)
    assert build(root, jobs=1).ok  # an earlier `gatic build`: the watch's first build reuses it
    cache = _watch_cache(root / ".gati")
    first = build(root, jobs=1, cache=cache)
    assert first.ok and _memo(cache) is None  # nothing emitted: the memo is empty
    assert prime(cache, first, root)
    memo = _memo(cache)
    assert memo is not None and not prime(cache, first, root)  # once
    # the first edit: a route added whose types are in use
    (root / "app" / "handlers" / "h9.py").write_text(handler_source(9))
    assert build(root, jobs=1, cache=cache).ok
    assert memo.parts.hits == 3  # the server's decoders and encoders, the SDK's decoders
    fresh = tmp_path / "fresh"
    shutil.copytree(root, fresh, ignore=shutil.ignore_patterns(".gati", "__pycache__"))
    assert build(fresh, jobs=1).ok
    assert read_artifacts(root / ".gati") == read_artifacts(fresh / ".gati")


def test_a_failed_first_build_is_not_primed(tmp_path: Path) -> None:
    root = tmp_path / "app"
    write_project(root)
    (root / "app" / "handlers" / "h0.py").write_text(handler_source(0) + "\ndef broken(:\n")
    cache = _watch_cache(root / ".gati")
    first = build(root, jobs=1, cache=cache)
    assert not first.ok
    assert not prime(cache, first, root)
