"""`gatic version …` end to end: click's CliRunner on real projects, and one run of the installed script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner, Result
from ts_fixture import HANDLERS_V1, STATS, write_app  # type: ignore[import-not-found, unused-ignore]

from gati_compiler.cli import main

T1, T2, T3 = "2026-11-01T10:00:00Z", "2026-11-02T10:00:00Z", "2026-11-03T10:00:00Z"


def gatic(*args: str, at: str | None = None) -> Result:
    env = {"NO_COLOR": "1", "GATI_TIMESCAPE_AT": at or ""}
    return CliRunner().invoke(main, list(args), env=env)


def listed(app: Path) -> list[dict[str, object]]:
    result = gatic("version", "list", str(app), "--format", "json")
    assert result.exit_code == 0, result.output
    rows: list[dict[str, object]] = json.loads(result.stdout)["versions"]
    return rows


def test_record_change_record_and_list(tmp_path: Path) -> None:
    app = write_app(tmp_path / "app")
    first = gatic("version", "record", str(app), "--tag", "v1.0.0", "--label", "stable", "--at", T1)
    assert first.exit_code == 0, first.output
    assert "recorded version 2026-11-01T10:00:00Z (v1.0.0, stable): 2 handlers" in first.stderr
    assert json.loads((app / ".gati/manifest.json").read_text())["versions"][0]["tsv"] == T1

    unchanged = gatic("version", "record", str(app), "--at", T2)
    assert unchanged.exit_code == 1 and "nothing changed" in unchanged.stderr
    (app / "handlers.py").write_text(HANDLERS_V1 + STATS, encoding="utf-8")
    second = gatic("version", "record", str(app), "--tag", "v1.1.0", "--at", T2)
    assert second.exit_code == 0 and "1 changed" in second.stderr

    rows = listed(app)
    assert [(r["tsv"], r["tags"], r["labels"], r["changed"]) for r in rows] == [
        (T1, ["v1.0.0"], ["stable"], ["book", "ping"]),
        (T2, ["v1.1.0"], [], ["stats"]),
    ]
    table = gatic("version", "list", str(app))
    assert table.exit_code == 0
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["TSV", "STATUS", "TAGS", "LABELS", "SUNSET", "HANDLERS", "CHANGES"]
    assert lines[2].split() == [T2, "active", "v1.1.0", "-", "-", "3", "+1", "-0"]


def test_tag_label_deprecate_retire_take_any_version_name(tmp_path: Path) -> None:
    app = write_app(tmp_path / "app")
    assert gatic("version", "record", str(app), "--tag", "v1", "--at", T1).exit_code == 0
    (app / "handlers.py").write_text(HANDLERS_V1 + STATS, encoding="utf-8")
    assert gatic("version", "record", str(app), "--at", T2).exit_code == 0
    assert gatic("version", "record", str(app), "--allow-empty", "--at", T3).exit_code == 0

    assert gatic("version", "tag", T2, "v2", str(app)).exit_code == 0
    moved = gatic("version", "tag", T3, "v2", str(app))
    assert moved.exit_code == 1 and "never moves" in moved.stderr
    assert gatic("version", "label", "v1", "stable", str(app)).exit_code == 0
    assert gatic("version", "label", "v2", "stable", str(app)).exit_code == 0
    dep = gatic("version", "deprecate", "stable", "--sunset", "2027-06-30", str(app), at=T3)
    assert dep.exit_code == 0, dep.output
    assert gatic("version", "retire", "v1", str(app), at=T3).exit_code == 0
    latest = gatic("version", "retire", T3, str(app), at=T3)
    assert latest.exit_code == 1 and "is the latest" in latest.stderr
    unknown = gatic("version", "deprecate", "v9", "--sunset", "2027-06-30", str(app))
    assert unknown.exit_code == 1 and "no version `v9`" in unknown.stderr

    rows = {r["tsv"]: r for r in listed(app)}
    assert rows[T1]["status"] == "retired" and rows[T1]["successor"] == T3  # the nearest active one
    assert rows[T2]["status"] == "deprecated" and rows[T2]["sunset"] == "2027-06-30"
    assert rows[T2]["labels"] == ["stable"] and rows[T2]["tags"] == ["v2"]
    assert rows[T3]["status"] == "active"
    built = gatic("build", str(app))
    assert built.exit_code == 0, built.output
    versions = json.loads((app / ".gati/manifest.json").read_text())["versions"]
    assert [v["status"] for v in versions] == ["retired", "deprecated", "active"]
    assert versions[1]["deprecatedAt"] == T3 and versions[1]["successor"] == T3


def test_record_refuses_a_build_with_errors(tmp_path: Path) -> None:
    app = write_app(tmp_path / "app", HANDLERS_V1.replace("Response[Book]", "Response[Missing]"))
    result = gatic("version", "record", str(app), "--at", T1)
    assert result.exit_code == 1
    assert "GATI201" in result.stderr and "nothing was recorded" in result.stderr
    assert not (app / "timescape.lock").exists()


def test_commands_report_a_broken_lock_and_change_nothing(tmp_path: Path) -> None:
    app = write_app(tmp_path / "app")
    assert gatic("version", "record", str(app), "--at", T1).exit_code == 0
    text = (app / "timescape.lock").read_text()
    broken = text.replace('"versions": [', '<<<<<<< HEAD\n"versions": [', 1)
    (app / "timescape.lock").write_text(broken)
    for args in (("list", str(app)), ("tag", T1, "v1", str(app)), ("record", str(app), "--at", T2)):
        result = gatic("version", *args)
        assert result.exit_code == 1, args
        assert "GATI702" in result.stderr, (args, result.stderr)
        assert (app / "timescape.lock").read_text() == broken


def test_without_a_lock_list_says_so_and_operations_refuse(tmp_path: Path) -> None:
    app = write_app(tmp_path / "app")
    assert listed(app) == []
    result = gatic("version", "tag", "v1", "x", str(app))
    assert result.exit_code == 1 and "no version is recorded yet" in result.stderr


def test_the_installed_gatic_records_from_the_clock(tmp_path: Path) -> None:
    """The real console script, the real clock: two records in one second get distinct TSVs."""
    app = write_app(tmp_path / "app")
    script = Path(sys.executable).parent / "gatic"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(script), "version", *args], capture_output=True, text=True, timeout=120, check=False)

    first = run("record", str(app), "--tag", "v1.0.0")
    assert first.returncode == 0, first.stderr
    second = run("record", str(app), "--allow-empty")
    assert second.returncode == 0, second.stderr
    rows = json.loads(run("list", str(app), "--format", "json").stdout)["versions"]
    assert len(rows) == 2 and rows[0]["tsv"] < rows[1]["tsv"]
    assert all(len(str(r["tsv"])) == 20 and str(r["tsv"]).endswith("Z") for r in rows)
