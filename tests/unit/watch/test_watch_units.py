"""The watch loop's filter and report, from values: what counts as a change, and the percentiles."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from gati_compiler.pipeline import build
from gati_compiler.watch.loop import SourceFilter
from gati_compiler.watch.report import exit_line, percentile, rebuild_line
from tests.incremental_project import handler_source, write_project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    write_project(root)
    return root


@pytest.mark.parametrize(
    ("rel", "relevant"),
    [
        ("app/handlers/h0.py", True),
        ("app/new_module.py", True),
        ("pyproject.toml", True),
        ("gati.toml", True),
        ("app/tests/test_nothing.py", False),  # excluded by the config
        (".gati/validators/__init__.py", False),  # the build folder
        (".venv/lib/python3.11/site-packages/x.py", False),
        (".git/config", False),
        ("node_modules/pkg/index.py", False),
        ("app/__pycache__/models.cpython-311.pyc", False),
        ("app/.hidden/mod.py", False),
        ("app/README.md", False),
        ("app/handlers/data.toml", False),  # only the project's own configuration files
        ("../elsewhere.py", False),
    ],
)
def test_filter_passes_only_what_a_rebuild_needs(project: Path, rel: str, relevant: bool) -> None:
    result = build(project, jobs=1, write=False)
    flt = SourceFilter(project)
    flt.configure(result.config)
    assert flt(None, str(project / rel)) is relevant


def test_filter_follows_the_configured_source_roots(project: Path) -> None:
    with (project / "pyproject.toml").open("a") as fh:
        fh.write('sources = ["app"]\n')
    result = build(project, jobs=1, write=False)
    flt = SourceFilter(project)
    flt.configure(result.config)
    assert flt(None, str(project / "app" / "models.py"))
    assert not flt(None, str(project / "scripts" / "tool.py"))


def test_percentiles_use_the_nearest_rank() -> None:
    times = [0.010, 0.020, 0.030, 0.040, 1.0]
    assert percentile(times, 0.5) == 0.030
    assert percentile(times, 0.95) == 1.0
    assert exit_line(times) == "watch stopped: 5 rebuild(s), p50 30 ms, p95 1000 ms"
    assert exit_line([]) == "watch stopped: no rebuilds"


def test_rebuild_line_says_what_was_reanalysed_and_written(project: Path) -> None:
    assert build(project, jobs=1).ok
    (project / "app" / "handlers" / "h0.py").write_text(handler_source(0, "other"))
    line = rebuild_line(build(project, jobs=1), 0.042)
    assert line.startswith("rebuilt in 42 ms: re-analysed 1 file(s)")
    assert "affected modules: app.handlers.h0" in line
    assert "written" in line


def test_filter_passes_the_files_of_out_of_process_modules_after_a_build(tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "bookstore"
    example = Path(__file__).resolve().parents[3] / "examples" / "bookstore"
    shutil.copytree(example, root, ignore=shutil.ignore_patterns(".gati", "__pycache__"))
    result = build(root, jobs=1, write=False)
    flt = SourceFilter(root)
    flt.configure(result.config)
    assert not flt(None, str(root / "modules" / "shipping.mjs"))  # before any build: not known yet
    flt.note_modules(result)
    assert flt.module_dirs == ("modules",)
    assert flt(None, str(root / "modules" / "shipping.mjs"))  # the Node module's own file
    assert flt(None, str(root / "modules" / "rates.json"))  # anything in its folder
    assert not flt(None, str(root / "README.md"))
    assert not flt(None, str(root / "modules" / "node_modules" / "dep" / "index.js"))


def test_an_edit_made_before_the_watcher_runs_is_caught_up_not_lost(project: Path) -> None:
    """Between the first build and the moment the file watcher runs, an edit has no event: the
    loop compares modification times once the watcher is up and rebuilds for what it missed."""
    from gati_compiler.watch.loop import watch_project

    lines: list[str] = []
    stop = threading.Event()

    def echo(line: str) -> None:
        lines.append(line)
        if line.startswith("watching "):  # printed just before the watcher starts: edit in the gap
            (project / "app" / "handlers" / "h0.py").write_text(handler_source(0, "early"))
        elif line.startswith("rebuilt"):
            stop.set()

    timer = threading.Timer(30, stop.set)  # a ceiling: without the catch-up nothing would ever come
    timer.start()
    try:
        stats = watch_project(project, serve=False, port=0, echo=echo, stop=stop)
    finally:
        timer.cancel()
    assert "changed: app/handlers/h0.py" in lines, lines
    assert len(stats.rebuilds) == 1
