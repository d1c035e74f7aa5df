"""The build cache: its frame rejects every kind of untrusted file, an untrusted cache is reported
once and replaced by a full build, an edit re-analyses only what changed, and a no-op
`gatic build` is decided before libcst, pydantic or jinja2 are imported."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gati_compiler.cache import blob
from gati_compiler.cache.graph import ModuleGraph
from gati_compiler.cache.index import SKIP_DIRS, index_path, noop_verdict
from gati_compiler.cache.store import FACTS_DIR
from gati_compiler.pipeline import build
from gati_compiler.stages import discover
from tests.incremental_project import handler_source, model_source, read_artifacts, write_project

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def app(tmp_path: Path) -> Path:
    root = tmp_path / "app"
    write_project(root)
    return root


def _clean_artifacts(project: Path, tmp_path: Path) -> dict[str, bytes]:
    fresh = tmp_path / "fresh"
    shutil.rmtree(fresh, ignore_errors=True)
    shutil.copytree(project, fresh, ignore=shutil.ignore_patterns(".gati", "__pycache__"))
    result = build(fresh, jobs=1)
    assert result.ok
    return read_artifacts(fresh / ".gati")


def test_frame_round_trips_its_payload() -> None:
    assert blob.decode(blob.encode("facts", b"\x00payload"), "facts") == b"\x00payload"


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda d: b"not a cache" + d, "not a gati cache"),
        (lambda d: d[: len(blob.MAGIC) + 5], "header"),
        (lambda d: d[:-3], "truncated"),
        (lambda d: d + b"more", "truncated or extended"),
        (lambda d: d[:-1] + bytes([d[-1] ^ 1]), "checksum"),
        (lambda d: d.replace(b'"format": 1', b'"format": 99'), "format"),
        (lambda d: blob.encode("facts", b"payload!", version="9.9.9"), "gati '9.9.9'"),
        (lambda d: blob.encode("index", b"payload!"), "holds 'index'"),
    ],
)
def test_frame_rejects_untrusted_files(damage: object, reason: str) -> None:
    data = blob.encode("facts", b"payload!")
    with pytest.raises(blob.CacheProblem, match=reason):
        blob.decode(damage(data), "facts")  # type: ignore[operator]


def test_frame_rejects_two_writers_bytes_interleaved() -> None:
    one, two = blob.encode("facts", b"a" * 100), blob.encode("facts", b"b" * 100)
    with pytest.raises(blob.CacheProblem, match="checksum"):
        blob.decode(one[:-50] + two[-50:], "facts")


def _corrupt_facts(out: Path, how: str) -> None:
    files = sorted((out / ".cache" / FACTS_DIR).iterdir())
    assert files
    target = files[len(files) // 2]
    data = target.read_bytes()
    if how == "truncated":
        target.write_bytes(data[: len(data) // 2])
    elif how == "garbage":
        target.write_bytes(b"\x00\xff" * 50)
    elif how == "foreign-version":
        target.write_bytes(blob.encode("facts", blob.decode(data, "facts"), version="0.0.0-other"))
    elif how == "interleaved":
        other = files[0].read_bytes() if files[0] != target else files[-1].read_bytes()
        target.write_bytes(data[: len(data) // 2] + other[len(other) // 2 :])
    elif how == "bad-pickle":
        target.write_bytes(blob.encode("facts", b"definitely not a pickle"))


@pytest.mark.parametrize("how", ["truncated", "garbage", "foreign-version", "interleaved", "bad-pickle"])
def test_untrusted_cache_is_reported_once_and_replaced_by_a_full_build(app: Path, tmp_path: Path, how: str) -> None:
    assert build(app, jobs=1).ok
    (app / "app" / "handlers" / "h1.py").write_text(handler_source(1, "edited"))
    _corrupt_facts(app / ".gati", how)
    result = build(app, jobs=1)
    warnings = [d for d in result.diagnostics if d.code == "GATI403"]
    assert len(warnings) == 1, result.diagnostics
    assert warnings[0].span.path.startswith(".gati/.cache/")
    assert result.incremental is not None and result.incremental.full
    assert read_artifacts(app / ".gati") == _clean_artifacts(app, tmp_path)
    again = build(app, jobs=1)
    assert not again.diagnostics  # the build replaced the cache
    assert again.incremental is not None and not again.incremental.reanalysed


def test_corrupt_index_is_reported_and_the_build_is_complete(app: Path, tmp_path: Path) -> None:
    assert build(app, jobs=1).ok
    path = index_path(app / ".gati")
    path.write_bytes(path.read_bytes()[:-10])
    (app / "app" / "models.py").write_text(model_source(extra_fields=1))
    result = build(app, jobs=1)
    assert [d.code for d in result.diagnostics] == ["GATI403"]
    assert read_artifacts(app / ".gati") == _clean_artifacts(app, tmp_path)


def test_an_edit_reanalyses_only_the_changed_file_and_names_its_importers(app: Path) -> None:
    assert build(app, jobs=1).ok
    (app / "app" / "models.py").write_text(model_source(extra_fields=2))
    result = build(app, jobs=1)
    inc = result.incremental
    assert inc is not None
    assert inc.reanalysed == ["app/models.py"]
    assert inc.changed == ["app/models.py"]
    assert set(inc.affected) == {"app.models", "app.handlers.h0", "app.handlers.h1", "app.handlers.h2"}
    assert inc.emitted


def test_a_comment_edit_reuses_the_artifacts_without_emitting(app: Path) -> None:
    assert build(app, jobs=1).ok
    before = read_artifacts(app / ".gati")
    with (app / "app" / "handlers" / "h0.py").open("a") as fh:
        fh.write("# a comment\n")
    result = build(app, jobs=1)
    assert result.incremental is not None and not result.incremental.emitted
    assert result.written is not None and not result.written.written
    assert read_artifacts(app / ".gati") == before
    assert result.artifacts == {k: v for k, v in before.items()}


def test_a_hand_edited_artifact_is_not_reused(app: Path, tmp_path: Path) -> None:
    assert build(app, jobs=1).ok
    target = app / ".gati" / "openapi.json"
    target.write_bytes(target.read_bytes().replace(b"incrapp", b"tampered"))
    result = build(app, jobs=1)
    assert result.incremental is not None and result.incremental.emitted
    assert read_artifacts(app / ".gati") == _clean_artifacts(app, tmp_path)


def test_module_graph_affected_is_transitive() -> None:
    graph = ModuleGraph.from_edges({"a": {"b"}, "b": {"c"}, "c": set(), "d": {"c"}, "e": set()})
    assert graph.affected(["c"]) == {"a", "b", "c", "d"}
    assert graph.affected(["e"]) == {"e"}


def test_index_skip_dirs_match_discovery() -> None:
    assert discover.SKIP_DIRS == SKIP_DIRS


def _noop_in_subprocess(project: Path) -> tuple[bool, list[str]]:
    code = (
        "import json, sys\n"
        "from gati_compiler.entry import try_noop\n"
        f"ok = try_noop(['build', {str(project)!r}])\n"
        "heavy = sorted(m for m in ('libcst', 'pydantic', 'jinja2', 'click') if m in sys.modules)\n"
        "print(json.dumps([ok, heavy]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    ok, heavy = json.loads(out.stdout)
    return bool(ok), list(heavy)


def test_noop_build_decides_without_importing_libcst_pydantic_or_jinja2(app: Path) -> None:
    assert build(app, jobs=1).ok
    assert noop_verdict(app) is not None
    assert _noop_in_subprocess(app) == (True, [])


@pytest.mark.parametrize(
    "change",
    ["edit", "add", "delete", "config", "lock", "artifact", "excluded-dir-add"],
)
def test_noop_check_declines_after_any_change(app: Path, change: str) -> None:
    first = build(app, jobs=1)
    assert first.ok and first.program is not None
    assert noop_verdict(app) is not None
    if change == "edit":
        (app / "app" / "handlers" / "h0.py").write_text(handler_source(0, "other"))
    elif change == "add":
        (app / "app" / "handlers" / "h9.py").write_text(handler_source(9))
    elif change == "delete":
        (app / "app" / "handlers" / "h2.py").unlink()
    elif change == "config":
        with (app / "pyproject.toml").open("a") as fh:
            fh.write("# touched\n")
    elif change == "lock":  # its versions reach the manifest and the deploy bundle
        from gati_compiler.timescape.contract import contract_from_program
        from gati_compiler.timescape.lock import save_lock
        from gati_compiler.timescape.record import record

        recorded = record(None, contract_from_program(first.program), at="2026-11-01T10:00:00Z")
        save_lock(recorded, app / "timescape.lock")
    elif change == "artifact":
        (app / ".gati" / "handlers" / "ping_0.json").unlink()
    else:  # a new file in an excluded folder changes that folder's mtime: conservative
        (app / "app" / "tests" / "test_more.py").write_text("")
    assert noop_verdict(app) is None
    ok, _ = _noop_in_subprocess(app)
    assert not ok
    assert build(app, jobs=1).ok
    assert noop_verdict(app) is not None


def test_a_build_with_warnings_is_reused_and_says_them_again_but_a_cache_warning_only_once(tmp_path: Path) -> None:
    root = tmp_path / "warn"
    write_project(root)
    with (root / "pyproject.toml").open("a") as fh:
        fh.write("\n[tool.gati.deploy]\nreplicas = 3\n")  # GATI006: replicas on the memory backend
    first = build(root, jobs=1)
    assert first.ok and [d.code for d in first.diagnostics] == ["GATI006"]
    again = build(root, jobs=1)  # reused whole: the warning is said again
    assert again.incremental is not None and not again.incremental.lowered
    assert again.diagnostics == first.diagnostics
    index = noop_verdict(root)  # the no-op check answers too, and prints what the build printed
    assert index is not None and "GATI006" in index.rendered and "Found 1 warning." in index.rendered
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from gati_compiler.entry import try_noop; try_noop(sys.argv[1:])",
            "build",
            str(root),
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert "warning[GATI006]" in done.stdout and "up to date" in done.stderr
    # a problem of the cache itself is said once, by the build that met it, and never replayed
    (root / ".gati" / ".cache" / "index.bin").write_bytes(b"junk")
    met = build(root, jobs=1)
    assert sorted(d.code for d in met.diagnostics) == ["GATI006", "GATI403"]
    after = build(root, jobs=1)
    assert [d.code for d in after.diagnostics] == ["GATI006"]
    index = noop_verdict(root)
    assert index is not None and "GATI403" not in index.rendered


def test_check_without_a_build_checks_the_sources_alone(app: Path) -> None:
    """The build folder is generated and not committed: a fresh clone has none, and nothing in it
    can be stale."""
    from gati_compiler.pipeline import check

    result = check(app, jobs=1)
    assert result.ok
    assert [(d.code, d.severity.value, d.span.path) for d in result.diagnostics] == [
        ("GATI404", "info", ".gati/manifest.json")
    ]
    assert "no build" in result.diagnostics[0].message


def test_check_names_the_source_change_behind_stale_artifacts_in_one_line(app: Path) -> None:
    from gati_compiler.pipeline import check

    assert build(app, jobs=1).ok
    (app / "app" / "models.py").write_text(model_source(extra_fields=1))
    (app / "app" / "handlers" / "h7.py").write_text(handler_source(7))
    (app / "app" / "handlers" / "h2.py").unlink()
    result = check(app, jobs=1)
    assert len(result.diagnostics) == 1, result.diagnostics
    diag = result.diagnostics[0]
    assert diag.code == "GATI402"
    assert diag.span.path == "app/models.py"
    assert "`app/models.py`" in diag.message
    assert "new `app/handlers/h7.py`" in diag.message
    assert "removal of `app/handlers/h2.py`" in diag.message


def test_check_after_a_build_is_clean(app: Path) -> None:
    from gati_compiler.pipeline import check

    assert build(app, jobs=1).ok
    assert check(app, jobs=1).diagnostics == []


def test_an_edit_that_leaves_the_facts_equal_reuses_program_and_artifacts(app: Path) -> None:
    assert build(app, jobs=1).ok
    before = read_artifacts(app / ".gati")
    (app / "app" / "handlers" / "h0.py").write_text(handler_source(0, "pang"))  # same length, same lines
    result = build(app, jobs=1)
    inc = result.incremental
    assert inc is not None and inc.reanalysed == ["app/handlers/h0.py"]
    assert not inc.lowered and not inc.emitted
    assert result.program is not None and len(result.program.handlers) == 7
    assert read_artifacts(app / ".gati") == before


def test_a_corrupt_program_cache_is_reported_and_the_program_lowered_again(app: Path, tmp_path: Path) -> None:
    assert build(app, jobs=1).ok
    program = app / ".gati" / ".cache" / "program.bin"
    program.write_bytes(program.read_bytes()[:100])
    (app / "app" / "handlers" / "h0.py").write_text(handler_source(0, "pang"))
    result = build(app, jobs=1)
    assert [d.code for d in result.diagnostics] == ["GATI403"]
    assert result.incremental is not None and result.incremental.lowered
    assert read_artifacts(app / ".gati") == _clean_artifacts(app, tmp_path)
    assert not build(app, jobs=1).diagnostics


def test_a_program_left_behind_by_an_older_build_is_never_taken_for_the_last_builds(app: Path, tmp_path: Path) -> None:
    """`gatic watch` saves the lowered program after the build is served (`defer`); killed before
    that, program.bin holds an older build's program, which a later build must not reuse."""
    from gati_compiler.cache.store import BuildCache

    cache = BuildCache.load(app / ".gati")
    cache.defer = True
    assert build(app, jobs=1, cache=cache).ok
    cache.flush()  # program.bin: the first build's
    (app / "app" / "models.py").write_text(model_source(extra_fields=1))
    assert build(app, jobs=1, cache=cache).ok  # recorded in the index; its program not flushed
    with (app / "app" / "handlers" / "h0.py").open("a") as fh:
        fh.write("# a comment\n")  # the same facts: the index's lower key again
    result = build(app, jobs=1)  # a new process: reads program.bin
    assert result.ok and not result.diagnostics
    assert result.incremental is not None and result.incremental.lowered  # not the stale program
    assert result.program is not None and "extra_0" in result.program.gtypes["Item"].model_dump_json()
    assert read_artifacts(app / ".gati") == _clean_artifacts(app, tmp_path)


def test_a_cache_kept_in_memory_reuses_the_bytes_it_wrote_unless_a_file_changed(app: Path, tmp_path: Path) -> None:
    from gati_compiler.cache.store import BuildCache

    cache = BuildCache.load(app / ".gati")
    assert build(app, jobs=1, cache=cache).ok
    with (app / "app" / "handlers" / "h0.py").open("a") as fh:
        fh.write("# a comment\n")
    result = build(app, jobs=1, cache=cache)
    assert result.incremental is not None and not result.incremental.emitted
    assert result.artifacts == read_artifacts(app / ".gati")
    target = app / ".gati" / "openapi.json"
    target.write_bytes(target.read_bytes().replace(b"incrapp", b"tampered"))  # another size
    with (app / "app" / "handlers" / "h0.py").open("a") as fh:
        fh.write("# another comment\n")
    result = build(app, jobs=1, cache=cache)
    assert result.incremental is not None and result.incremental.emitted
    assert read_artifacts(app / ".gati") == _clean_artifacts(app, tmp_path)
