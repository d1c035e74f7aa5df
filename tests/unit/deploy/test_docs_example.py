"""The worked example of `docs/deploy.md` runs as written, offline, up to `kubectl apply`: its
TOML, its commands (as real subprocesses) and its Python; the result is the two-version,
Redis-backed bundle the page describes, valid in every environment."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from gati_compiler.deploy.checks import check_objects
from gati_compiler.deploy.overlay import bundle_objects
from tests.unit.deploy.bundles import BOOKSTORE, ROOT, by_kind

DOC = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
EXAMPLE = DOC[DOC.index("## Worked example") :]


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", EXAMPLE, re.S)


def _gatic(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    code = "from gati_compiler.cli import run; run()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_worked_example_builds_a_valid_two_version_redis_bundle(tmp_path: Path) -> None:
    project = tmp_path / "shop"
    shutil.copytree(BOOKSTORE, project, ignore=shutil.ignore_patterns(".gati", "__pycache__"))
    (toml,) = _blocks("toml")[-1:]
    with (project / "pyproject.toml").open("a", encoding="utf-8") as f:
        f.write("\n" + toml)
    commands = [line.split() for block in _blocks("sh")[:2] for line in block.splitlines() if line.startswith("gatic")]
    assert [c[:2] for c in commands] == [["gatic", "build"], ["gatic", "deploy"]]
    for command in commands:
        done = _gatic(project, *command[1:])
        assert done.returncode == 0, (command, done.stdout, done.stderr)
    (python,) = _blocks("python")
    run = subprocess.run([sys.executable, "-c", python], cwd=project, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    bundle = project / ".gati" / "bundle"
    files = {p.relative_to(bundle).as_posix(): p.read_bytes() for p in bundle.rglob("*") if p.is_file()}
    objs = bundle_objects(files, "production")
    names = sorted(d["metadata"]["name"] for d in by_kind(objs, "Deployment"))
    assert names == ["bookstore-20261121t103000z", "bookstore-20261201t090000z"]
    assert all(o["metadata"]["namespace"] == "shop" for o in objs.values())
    assert {h["spec"]["maxReplicas"] for h in by_kind(objs, "HorizontalPodAutoscaler")} == {9}
    env = by_kind(objs, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "GATI_STATE_URL", "valueFrom": {"secretKeyRef": {"name": "bookstore-state", "key": "url"}}} in env
    assert check_objects(objs.values()) == []
    assert "kubectl apply -k .gati/bundle/overlays/production" in EXAMPLE
    assert (bundle / "overlays" / "production" / "kustomization.yaml").is_file()
