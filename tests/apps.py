"""Small apps written from source strings and built by the real compiler, for tests."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path


def build_files(root: Path, files: Mapping[str, str]) -> Path:
    """Write `files` (path relative to `root` -> source, dedented) under `root`, build the project
    with `gati_compiler.pipeline.build` and return its build folder; a build with errors fails the test."""
    from gati_compiler.diagnostics.render import render_text
    from gati_compiler.pipeline import build

    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    result = build(root)
    assert result.ok, render_text(result.diagnostics, result.sources)
    return root / ".gati"
