"""Filling the watch loop's emit memo while it waits for the first edit.

The first build of `gatic watch` is usually answered by the build cache (nothing changed since the
last `gatic build`): the program is read back and nothing is emitted, so the loop's `EmitMemo`
holds nothing and the first edit would emit every artifact from scratch (the validators modules
most of all). `prime` emits the reused program once, through the memo, and throws the artifacts
away: what it keeps is only what the memo keeps, pieces keyed by the very IR objects they were
made from, which the next rebuild reuses where its objects are the same. A piece made here is
never taken for anything but its own inputs, so priming changes how long a rebuild takes, never
what it writes.
"""

from __future__ import annotations

import os
from pathlib import Path

from gati_compiler.cache.store import BuildCache
from gati_compiler.pipeline import BuildResult, _gc_paused


def prime(cache: BuildCache, result: BuildResult, root: Path) -> bool:
    """Emit `result`'s program through a new memo for `cache` when the cache has none yet;
    True when it did. A failed build, or one that emitted (and so filled the memo), is left."""
    if not result.ok or result.program is None or result.config is None:
        return False
    if cache.memo is not None and cache.memo.program is not None:
        return False
    from gati_compiler.config import settings_for_runtime
    from gati_compiler.emit import emit_all
    from gati_compiler.emit.memo import EmitMemo

    memo = cache.memo = EmitMemo()
    out_dir = root / result.config.out
    with _gc_paused():
        program = memo.intern(result.program)
        emit_all(
            program,
            project_root=Path(os.path.relpath(root.resolve(), out_dir.resolve())).as_posix(),
            settings=settings_for_runtime(result.config),
            jobs=1,
            memo=memo,
        )
        memo.end_build()
    return True
