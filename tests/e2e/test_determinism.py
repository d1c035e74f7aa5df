"""The same sources give byte-identical artifacts: twice in a row, under different hash seeds,
and from a different working directory and checkout path."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gati_compiler.diagnostics.model import DiagnosticSink
from gati_compiler.pipeline import build
from gati_compiler.stages.discover import discover_sources
from gati_compiler.stages.facts import dump_facts
from gati_compiler.stages.parse import parse_sources

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "bookstore"


def _tree(folder: Path) -> dict[str, bytes]:
    """The artifacts; not the build cache (`.cache/`), which records this machine's mtimes."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.relative_to(folder).parts[0] != ".cache"
    }


def _copy(dest: Path) -> Path:
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns(".gati", "__pycache__"))
    return dest


def _build_in_subprocess(project: Path, seed: str, cwd: Path) -> None:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    code = "import sys; from gati_compiler.cli import main; sys.argv=['gatic', 'build', sys.argv[1]]; main()"
    subprocess.run([sys.executable, "-c", code, str(project)], check=True, env=env, cwd=cwd, capture_output=True)


def test_rebuild_in_process_is_byte_identical_and_rewrites_nothing(tmp_path: Path) -> None:
    project = _copy(tmp_path / "app")
    first = build(project)
    assert first.ok
    before = _tree(project / ".gati")
    mtimes = {p: p.stat().st_mtime_ns for p in (project / ".gati").rglob("*") if p.is_file()}
    second = build(project)
    assert second.written is not None
    assert second.written.written == []
    assert _tree(project / ".gati") == before
    assert {p: p.stat().st_mtime_ns for p in (project / ".gati").rglob("*") if p.is_file()} == mtimes


@pytest.mark.slow
def test_hash_seed_cwd_and_checkout_path_do_not_change_output(tmp_path: Path) -> None:
    a = _copy(tmp_path / "one" / "bookstore")
    b = _copy(tmp_path / "two" / "deeper" / "checkout")
    _build_in_subprocess(a, "0", cwd=tmp_path)
    _build_in_subprocess(b, "1", cwd=b)
    assert _tree(a / ".gati") == _tree(b / ".gati")
    assert _tree(a / ".gati")  # something was built


def test_parallel_and_serial_parsing_give_the_same_facts(tmp_path: Path) -> None:
    project = _copy(tmp_path / "app")
    sink = DiagnosticSink()
    files = discover_sources(project, ["."], [], ".gati", sink).files
    assert len(files) >= 8  # enough for the process pool to be used
    serial = [dump_facts(f) for f in parse_sources(files, sink, jobs=1)]
    parallel = [dump_facts(f) for f in parse_sources(files, sink, jobs=2)]
    assert serial == parallel
    assert not sink.has_errors
