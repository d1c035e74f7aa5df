"""The real `gatic` command on diagnostic fixtures: text and JSON output, and exit codes.

`CliRunner` drives `gati_compiler.cli:main` in-process; one test runs the installed `gatic`
script in a subprocess. Every build runs on a copy in `tmp_path`, so nothing in the repository
is written to.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from gati_compiler.cli import main

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "diagnostics_fixtures"
BOOKSTORE = REPO / "examples" / "bookstore"
_IGNORE = shutil.ignore_patterns(".gati", "__pycache__", "expected.txt")


def copy_fixture(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(FIXTURES / name, target, ignore=_IGNORE)
    return target


def copy_bookstore(tmp_path: Path) -> Path:
    target = tmp_path / "bookstore"
    shutil.copytree(BOOKSTORE, target, ignore=_IGNORE)
    return target


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"NO_COLOR": "1", "FORCE_COLOR": ""})


def test_text_output_has_position_frame_and_help(tmp_path: Path) -> None:
    project = copy_fixture("syntax_error", tmp_path)
    result = run("build", str(project))
    assert result.exit_code == 1, result.output
    out = result.output
    assert "\x1b[" not in out  # no colour when NO_COLOR is set and stdout is not a TTY
    # `path:line:col: error[CODE] message`, one per diagnostic, both files reported
    headers = re.findall(r"^(\S+):(\d+):(\d+): (error|warning)\[(GATI\d{3})\] ", out, flags=re.MULTILINE)
    assert [(h[0], h[4]) for h in headers] == [("broken.py", "GATI101"), ("handlers.py", "GATI201")]
    # a caret frame: the numbered source line, then `^` under the span
    assert re.search(r"^14 \|     res: Response\[list\[Usr\]\],", out, flags=re.MULTILINE), out
    carets = re.search(r"^\s+\|(\s+)(\^+)\s*$", out.split("handlers.py:14:", 1)[1], flags=re.MULTILINE)
    assert carets is not None, out
    assert headers[1][1:3] == ("14", "24")
    assert len(carets.group(2)) == len("Usr")
    assert "= help: " in out
    assert "Found 2 errors." in out


def test_text_output_frames_a_syntax_error_at_its_position(tmp_path: Path) -> None:
    project = copy_fixture("syntax_error", tmp_path)
    out = run("build", str(project)).output
    block = out.split("broken.py:", 1)[1].split("\n\n", 1)[0]
    assert block.startswith("7:")
    assert "7 | async def broken(" in block
    frame = block.splitlines()
    source = next(row for row in frame if row.startswith("7 | "))
    caret = next(row for row in frame if "^" in row)
    assert source[caret.index("^") :].startswith("->")  # the caret sits under the offending token


def test_json_output_is_versioned_sorted_and_complete(tmp_path: Path) -> None:
    project = copy_fixture("unresolved_type", tmp_path)
    result = run("build", str(project), "--format", "json")
    assert result.exit_code == 1, result.output
    data = json.loads(result.output)
    assert data["version"] == 1
    diags = data["diagnostics"]
    assert len(diags) == 4
    keys = [(d["path"], d["start"]["line"], d["start"]["col"], d["code"]) for d in diags]
    assert keys == sorted(keys)
    for d in diags:
        assert d["code"] == "GATI201"
        assert d["severity"] == "error"
        assert set(d["start"]) == {"line", "col"} and set(d["end"]) == {"line", "col"}
        assert d["start"]["line"] >= 1 and d["start"]["col"] >= 1
        assert (d["end"]["line"], d["end"]["col"]) > (d["start"]["line"], d["start"]["col"])
        assert d["help"]
    assert json.dumps(data, sort_keys=True, indent=2) == result.output.rstrip("\n")


def test_warnings_only_exit_zero(tmp_path: Path) -> None:
    project = copy_fixture("unknown_module", tmp_path)
    result = run("build", str(project))
    assert result.exit_code == 0, result.output
    assert "warning[GATI307]" in result.output
    assert (project / ".gati" / "manifest.json").is_file()


def test_config_error_position_and_help(tmp_path: Path) -> None:
    project = copy_fixture("config_unknown_key", tmp_path)
    result = run("build", str(project))
    assert result.exit_code == 1
    assert "pyproject.toml:6:1: error[GATI002] unknown key `sorces`" in result.output
    assert "= help: did you mean `sources`?" in result.output


def test_config_error_renders_toml_frame(tmp_path: Path) -> None:
    project = copy_fixture("config_unknown_key", tmp_path)
    result = run("build", str(project))
    assert "6 | sorces = [" in result.output


def test_clean_example_exits_zero(tmp_path: Path) -> None:
    project = copy_bookstore(tmp_path)
    result = run("build", str(project))
    assert result.exit_code == 0, result.output
    assert (project / ".gati" / "manifest.json").is_file()
    checked = run("check", str(project))
    assert checked.exit_code == 0, checked.output


def test_check_reports_stale_artifacts(tmp_path: Path) -> None:
    project = copy_bookstore(tmp_path)
    assert run("build", str(project)).exit_code == 0
    gtypes = project / ".gati" / "gtypes.json"
    gtypes.write_text(gtypes.read_text(encoding="utf-8") + " ", encoding="utf-8")
    result = run("check", str(project), "--format", "json")
    assert result.exit_code == 1
    assert [d["code"] for d in json.loads(result.output)["diagnostics"]] == ["GATI402"]


@pytest.mark.parametrize(
    "args",
    [("build", "--nope"), ("build", "--format", "yaml"), ("frobnicate",), ("build", "--jobs", "0")],
)
def test_usage_error_exits_two(args: tuple[str, ...], tmp_path: Path) -> None:
    result = run(*args, str(tmp_path))
    assert result.exit_code == 2, result.output


def test_internal_error_exits_three(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gati_compiler.stages.lower as lower

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(lower, "lower_program", explode)
    project = copy_fixture("unknown_module", tmp_path)
    result = run("build", str(project))
    assert result.exit_code == 3, result.output
    assert "error[GATI900]" in result.output


def _gatic_script() -> Path:
    bindir = Path(sys.executable).parent
    for name in ("gatic", "gatic.exe"):
        if (bindir / name).is_file():
            return bindir / name
    pytest.fail(f"the `gatic` console script is not installed next to {sys.executable}")


def test_installed_entry_point_builds_the_example(tmp_path: Path) -> None:
    project = copy_bookstore(tmp_path)
    proc = subprocess.run(
        [str(_gatic_script()), "build", str(project), "--jobs", "2"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={"PATH": str(Path(sys.executable).parent), "NO_COLOR": "1"},
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    manifest = json.loads((project / ".gati" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["app"] == "bookstore"
    assert len(manifest["handlers"]) >= 10
    for entry in manifest["handlers"]:
        assert (project / ".gati" / entry["file"]).is_file()
    # and a failing project gives exit code 1 with the diagnostic on stdout
    broken = copy_fixture("route_conflict", tmp_path)
    failed = subprocess.run(
        [str(_gatic_script()), "build", str(broken)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": str(Path(sys.executable).parent), "NO_COLOR": "1"},
        check=False,
    )
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "error[GATI302]" in failed.stdout


def test_installed_entry_point_flushes_everything_before_its_fast_exit(tmp_path: Path) -> None:
    """The script ends with `os._exit`: every byte printed must still arrive, with each exit code."""
    env = {"PATH": str(Path(sys.executable).parent), "NO_COLOR": "1"}

    def gatic(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(_gatic_script()), *args], capture_output=True, text=True, timeout=120, env=env, check=False
        )

    usage = gatic("build", "--nope", str(tmp_path))
    assert usage.returncode == 2 and "No such option '--nope'" in usage.stderr
    version = gatic("--version")
    assert version.returncode == 0 and version.stdout.strip().startswith("gatic, version ")
    project = copy_fixture("route_conflict", tmp_path)
    report = gatic("build", str(project), "--format", "json")
    assert report.returncode == 1
    assert json.loads(report.stdout)["diagnostics"][0]["code"] == "GATI302"
    # `build` and `check` end from inside the command: a large dump and a clean check arrive whole
    app = copy_bookstore(tmp_path)
    dump = gatic("build", str(app), "--dump", "ir")
    assert dump.returncode == 0, dump.stderr
    assert len(json.loads(dump.stdout)["handlers"]) >= 10
    assert gatic("build", str(app)).returncode == 0
    clean = gatic("check", str(app), "--format", "json")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert json.loads(clean.stdout)["diagnostics"] == []


@pytest.mark.parametrize("command", ["build", "check", "watch", "serve"])
def test_a_missing_project_folder_is_a_usage_error_that_names_it(command: str, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-app"
    result = run(command, str(missing))
    assert result.exit_code == 2, result.output
    assert "no-such-app" in result.output and "does not exist" in result.output
    assert not missing.exists()
