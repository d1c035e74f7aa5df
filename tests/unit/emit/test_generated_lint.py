"""Every Python file a build of the examples writes (decoders, SDKs, timescape modules, checks,
types) passes `ruff check` with the project's own rule set and `ruff format` at its line length."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from gati_compiler.pipeline import build

REPO = Path(__file__).resolve().parents[3]
RUFF = Path(sys.executable).parent / "ruff"
EXAMPLES = ("bookstore", "accounts")


def _project_rules() -> list[str]:
    """`ruff` arguments for the rules and widths of our `pyproject.toml`, without reading it from
    the generated tree (`--isolated`: no cache, no configuration found by walking up)."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["ruff"]
    lint = config["lint"]
    return [
        "--isolated",
        "--no-cache",
        "--line-length",
        str(config["line-length"]),
        "--target-version",
        config["target-version"],
        "--select",
        ",".join(lint["select"]),
        "--ignore",
        ",".join(lint["ignore"]),
    ]


@pytest.fixture(scope="module", params=EXAMPLES)
def generated(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    name: str = request.param
    tmp = tmp_path_factory.mktemp(name)
    project = tmp / name
    shutil.copytree(REPO / "examples" / name, project, ignore=shutil.ignore_patterns(".gati", "__pycache__"))
    result = build(project, write=False, jobs=1)
    assert result.ok, [d.message for d in result.diagnostics]
    out = tmp / "out"
    written = 0
    for rel, data in result.artifacts.items():
        if rel.endswith(".py"):
            target = out / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            written += 1
    assert written > 20, f"only {written} Python files in the build of {name}"
    for part in ("validators", "sdk/python", "timescape/validators", "timescape/checks"):
        assert any((out / part).rglob("*.py")), part
    return out


@pytest.mark.skipif(not RUFF.exists(), reason="ruff is not installed next to the interpreter")
def test_generated_python_passes_the_projects_ruff_rules(generated: Path) -> None:
    result = subprocess.run(
        [str(RUFF), "check", *_project_rules(), "--output-format", "concise", "."],
        cwd=generated,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(not RUFF.exists(), reason="ruff is not installed next to the interpreter")
def test_generated_python_is_formatted_at_the_projects_width(generated: Path) -> None:
    width = str(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["ruff"]["line-length"])
    result = subprocess.run(
        [str(RUFF), "format", "--isolated", "--no-cache", "--line-length", width, "--check", "--diff", "."],
        cwd=generated,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
