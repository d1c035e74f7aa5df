"""The wheel is self-contained: it ships the templates and its `gatic` builds an app with them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_wheel_ships_templates_and_builds_outside_the_checkout(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
    )
    wheel = next(dist.glob("gati-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        zf.extractall(tmp_path / "site")
    templates = {p.relative_to(ROOT / "templates").as_posix() for p in (ROOT / "templates").rglob("*.j2")}
    assert templates, "the repository has templates"
    assert {f"gati_compiler/_templates/{t}" for t in templates} <= names
    assert "gati_compiler/py.typed" in names and "gati_runtime_min/py.typed" in names
    assert "gati_runtime_min/modules/js/gati-module.mjs" in names  # the Node module helper is package data
    page = {f"gati_runtime_min/playground/static/playground.{ext}" for ext in ("html", "js", "css")}
    assert page <= names, page - names  # the playground page (served from the package, no CDN)
    entry = [n for n in names if n.endswith("entry_points.txt")]
    assert entry and b"gatic = gati_compiler.entry:run" in zipfile.ZipFile(wheel).read(entry[0])

    app = tmp_path / "app"
    shutil.copytree(ROOT / "examples" / "bookstore", app, ignore=shutil.ignore_patterns(".gati", "__pycache__"))
    # only the unpacked wheel (and the venv's third-party packages) on the path, run from elsewhere
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    code = (
        "import sys, gati_compiler; assert gati_compiler.__file__.startswith(sys.argv[2]), gati_compiler.__file__; "
        "from gati_compiler.cli import main; sys.argv = ['gatic', 'build', sys.argv[1]]; main()"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, str(app), str(tmp_path / "site")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert (app / ".gati" / "validators" / "__init__.py").is_file()
    assert (app / ".gati" / "sdk" / "python" / "pyproject.toml").is_file()
