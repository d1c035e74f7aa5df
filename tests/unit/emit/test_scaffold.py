"""`scaffold_files`: the `gatic init` templates render, compile, and give a valid configuration."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from gati_compiler.config import load_config
from gati_compiler.diagnostics.model import DiagnosticSink
from gati_compiler.emit.render import template_root
from gati_compiler.scaffold import project_name_problem, scaffold_files
from gati_compiler.writer import write_artifacts

EXPECTED = [".gitignore", "README.md", "app/__init__.py", "app/handlers.py", "pyproject.toml", "tests/test_app.py"]


@pytest.mark.parametrize("name", ["bookstore", "my-app", "Shop_2", "a", "svc.v2"])
def test_files_render_and_compile(name: str) -> None:
    files = scaffold_files(name)
    assert sorted(files) == EXPECTED
    for path, data in files.items():
        text = data.decode("utf-8")
        assert text.endswith("\n") and not text.endswith("\n\n"), path
        assert "\r" not in text
        if path.endswith(".py"):
            compile(text, path, "exec")
    pyproject = tomllib.loads(files["pyproject.toml"].decode())
    assert pyproject["project"]["name"] == name
    assert pyproject["tool"]["gati"]["name"] == name
    assert f"APP_NAME: Final = {name!r}".replace("'", '"') in files["app/__init__.py"].decode()
    assert files["README.md"].decode().startswith(f"# {name}\n")


def test_every_init_template_is_rendered() -> None:
    root = template_root() / "init"
    templates = sorted(p.relative_to(root).as_posix().removesuffix(".j2") for p in root.rglob("*.j2"))
    assert templates == EXPECTED


def test_rendering_is_deterministic() -> None:
    assert scaffold_files("bookstore") == scaffold_files("bookstore")


@pytest.mark.parametrize(
    "name", ["", "1app", "my app", 'a"b', "a'b", "app-", "x/y", "../x", "naïve", "a\nb", "a" * 65, "{{ x }}"]
)
def test_bad_names_are_refused(name: str) -> None:
    assert project_name_problem(name) is not None
    with pytest.raises(ValueError, match="not a valid project name"):
        scaffold_files(name)


def test_scaffolded_config_loads_cleanly(tmp_path: Path) -> None:
    write_artifacts(scaffold_files("my-app"), tmp_path)
    sink = DiagnosticSink()
    cfg = load_config(tmp_path, sink)
    assert sink.diagnostics == []
    assert cfg is not None
    assert (cfg.name, cfg.sources, cfg.exclude) == ("my-app", (".",), ("tests/**",))
    assert cfg.config == {"greeting": "Hello"}


def test_generated_python_is_ruff_formatted(tmp_path: Path) -> None:
    write_artifacts(scaffold_files("my-app"), tmp_path)
    py_files = sorted(str(p) for p in tmp_path.rglob("*.py"))
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "--isolated", "--line-length", "120", *py_files],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _runtime_has_authoring_api() -> bool:
    try:
        runtime = importlib.import_module("gati_runtime_min")
    except ImportError:
        return False
    return all(hasattr(runtime, n) for n in ("get", "post", "Request", "Response", "LocalContext", "GlobalContext"))


@pytest.mark.skipif(not _runtime_has_authoring_api(), reason="gati_runtime_min does not export the authoring API yet")
def test_scaffolded_tests_pass(tmp_path: Path) -> None:
    write_artifacts(scaffold_files("my-app"), tmp_path)
    # the runtime may be importable only from this checkout (not installed): pass its folder on
    runtime_root = Path(importlib.import_module("gati_runtime_min").__file__ or "").resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(runtime_root), os.environ.get("PYTHONPATH")]))}
    # the tests serve the build in-process (`AppClient`): build first, as the README says
    built = subprocess.run(
        [sys.executable, "-c", "from gati_compiler.cli import run; run()", "build", "."],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 passed" in result.stdout


def test_dependency_on_gati_names_its_location_never_the_bare_name() -> None:
    pinned = tomllib.loads(scaffold_files("a", "gati @ file:///src/gati")["pyproject.toml"].decode())
    assert pinned["project"]["dependencies"] == ["gati @ file:///src/gati"]
    assert pinned["tool"]["hatch"]["metadata"]["allow-direct-references"] is True
    bare = scaffold_files("a")
    assert tomllib.loads(bare["pyproject.toml"].decode())["project"]["dependencies"] == []
    assert "install gati" in bare["README.md"].decode()


def test_gitignore_and_readme_agree_that_the_build_is_not_committed() -> None:
    files = scaffold_files("a")
    assert ".gati/" in files[".gitignore"].decode().splitlines()
    assert "**not committed**" in files["README.md"].decode()
    assert "gati_runtime_min.testing" in files["README.md"].decode()
