"""Shared helpers for the per-stage unit tests: tiny projects built in memory from source strings.

In the spirit of griffe's `temporary_visited_module`: a test writes a few small files with
`project_from_sources` and looks at what `build(write=False)` extracted. The helpers are exposed
as fixtures (`project`, `expand`, `handler_part`) so test modules do not import this file.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping
from itertools import count
from pathlib import Path

import pytest
from pydantic import JsonValue

from gati_compiler.ir.canonical import dump_gtype
from gati_compiler.ir.gtype import GType
from gati_compiler.ir.models import Program
from gati_compiler.pipeline import BuildResult, build


def write_project(root: Path, sources: Mapping[str, str | bytes], config: str | None = None) -> Path:
    """Write `sources` (POSIX relative path → text, dedented) and a `pyproject.toml` under `root`."""
    root.mkdir(parents=True, exist_ok=True)
    toml = '[tool.gati]\nname = "app"\n' + (textwrap.dedent(config) if config else "")
    (root / "pyproject.toml").write_text(toml, encoding="utf-8")
    for rel, text in sources.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(textwrap.dedent(text), encoding="utf-8", newline="")
    return root


def project_from_sources(
    tmp_path: Path, sources: Mapping[str, str | bytes], config: str | None = None, *, jobs: int = 1
) -> BuildResult:
    """Write a tiny project from source strings and run the whole pipeline without writing `.gati/`.

    `config` is extra TOML appended to `[tool.gati]` (e.g. `'sources = ["src"]'`).
    """
    return build(write_project(tmp_path, sources, config), write=False, jobs=jobs)


def expand(program: Program, g: GType | None) -> JsonValue:
    """`g` as JSON with every ref replaced by its definition; a ref already being expanded stays a ref."""

    def walk(value: JsonValue, stack: tuple[str, ...]) -> JsonValue:
        if isinstance(value, dict):
            ref = value.get("ref")
            if value.get("kind") == "ref" and isinstance(ref, str):
                if ref in stack or ref not in program.gtypes:
                    return value
                return walk(dump_gtype(program.gtypes[ref]), (*stack, ref))
            return {k: walk(v, stack) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, stack) for v in value]
        return value

    return None if g is None else walk(dump_gtype(g), ())


def handler_part(result: BuildResult, handler_id: str, part: str = "request") -> JsonValue:
    """The expanded GType of one handler's `request`/`response`/`params`/`query`."""
    assert result.program is not None, [f"{d.code} {d.span.line}: {d.message}" for d in result.diagnostics]
    for h in result.program.handlers:
        if h.handlerId == handler_id:
            return expand(result.program, getattr(h.gtypes, part))
    raise AssertionError(f"no handler {handler_id!r} in {[h.handlerId for h in result.program.handlers]}")


def codes_of(result: BuildResult) -> list[str]:
    return [d.code for d in result.diagnostics]


@pytest.fixture
def project(tmp_path: Path) -> Callable[..., BuildResult]:
    """`project({"app/x.py": "..."}, config=...)`: each call builds in a fresh folder under `tmp_path`."""
    counter = count()

    def make(sources: Mapping[str, str | bytes], config: str | None = None, *, jobs: int = 1) -> BuildResult:
        return project_from_sources(tmp_path / f"p{next(counter)}", sources, config, jobs=jobs)

    return make


@pytest.fixture
def project_dir(tmp_path: Path) -> Callable[..., Path]:
    """`project_dir({...}, config=...)`: only write the files, for tests of single stages."""
    counter = count()

    def make(sources: Mapping[str, str | bytes], config: str | None = None) -> Path:
        return write_project(tmp_path / f"d{next(counter)}", sources, config)

    return make


@pytest.fixture(name="expand")
def expand_fixture() -> Callable[[Program, GType | None], JsonValue]:
    return expand


@pytest.fixture(name="handler_part")
def handler_part_fixture() -> Callable[..., JsonValue]:
    return handler_part
