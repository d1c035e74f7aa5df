"""`gatic init demo && cd demo`, then the commands its README prints, verbatim, in a fresh venv.

The README's `sh` block makes a new virtual environment, installs the app (which pulls in gati
from where this gati was installed: this checkout, by its `file://` URL), builds it and runs its
tests. Nothing here installs anything into the test's own environment.
"""

from __future__ import annotations

import os
import re
import subprocess
import sysconfig
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from gati_compiler.cli import main

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def readme_commands(readme: str) -> list[str]:
    block = re.search(r"^```sh\n(.*?)^```", readme, flags=re.MULTILINE | re.DOTALL)
    assert block is not None, "the README has no sh block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_init_then_the_readme_commands_work_in_a_fresh_venv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    created = CliRunner().invoke(main, ["init", "demo"])
    assert created.exit_code == 0, created.output
    demo = tmp_path / "demo"
    pyproject = tomllib.loads((demo / "pyproject.toml").read_text(encoding="utf-8"))
    deps = pyproject["project"]["dependencies"]
    assert deps and all(d.startswith("gati @ file://") for d in deps), deps  # never a bare `gati>=...`
    assert ".gati/" in (demo / ".gitignore").read_text(encoding="utf-8").splitlines()
    readme = (demo / "README.md").read_text(encoding="utf-8")
    assert "not committed" in readme
    commands = readme_commands(readme)
    assert commands[0].startswith("python3 -m venv") and any("pytest" in c for c in commands)

    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH") and not k.startswith("GATI_")}
    # the interpreter that makes the venv: this one's base, so the app gets a Python 3.11+
    env["PATH"] = os.pathsep.join([sysconfig.get_config_var("BINDIR"), env.get("PATH", "")])
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", "\n".join(commands)],
        cwd=demo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert re.search(r"\b5 passed\b", done.stdout), done.stdout[-2000:]
    assert (demo / ".gati" / "manifest.json").is_file()
    # the app's venv has its own gati: the runtime the tests used came from there
    assert list((demo / ".venv").glob("lib/python3*/site-packages/gati_runtime_min/__init__.py"))
