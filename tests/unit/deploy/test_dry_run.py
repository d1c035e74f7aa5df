"""`gatic deploy --dry-run` run as a real subprocess: exit 0 when current, 4 with a readable diff
of objects added, changed and removed, 2 for an unknown environment."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from gati_compiler.deploy import BUNDLE
from gati_compiler.pipeline import build
from tests.unit.deploy.bundles import redis_variant, versioned_bundle


def _gatic(*args: str) -> subprocess.CompletedProcess[str]:
    code = "from gati_compiler.cli import run; run()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120, check=False)


def test_dry_run_exits_zero_when_the_bundle_on_disk_is_current(tmp_path: Path) -> None:
    project = redis_variant(tmp_path)
    assert build(project, jobs=1).ok
    done = _gatic("deploy", "--dry-run", str(project))
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert "up to date" in done.stderr


def test_dry_run_lists_added_changed_and_removed_objects_with_a_diff(tmp_path: Path) -> None:
    project = redis_variant(tmp_path)
    assert build(project, jobs=1).ok
    # the bundle on disk deploys two older versions; the new build deploys the current one
    bundle = project / ".gati" / BUNDLE
    for rel, data in versioned_bundle(project).items():
        (bundle / rel).parent.mkdir(parents=True, exist_ok=True)
        (bundle / rel).write_bytes(data)
    (bundle / "deployment-current.yaml").unlink()
    config = project / "pyproject.toml"
    config.write_text(config.read_text().replace('cpu_request = "250m"', 'cpu_request = "500m"'))
    done = _gatic("deploy", "--dry-run", "--env", "production", str(project))
    assert done.returncode == 4, done.stderr
    out = done.stdout
    assert "+ Deployment/bookstore-current (added)" in out
    assert "- Deployment/bookstore-20261121t103000z (removed)" in out
    assert "~ HTTPRoute/bookstore (changed)" in out
    added = [line for line in out.splitlines() if line.startswith("+")]
    assert any(line.endswith(" cpu: 500m") for line in added)  # the overlay's new request
    assert "--- disk/HTTPRoute/bookstore" in out and "+++ build/HTTPRoute/bookstore" in out
    assert "added" in done.stderr and "removed" in done.stderr


def test_dry_run_rejects_an_unknown_environment_as_a_usage_error(tmp_path: Path) -> None:
    project = redis_variant(tmp_path)
    done = _gatic("deploy", "--dry-run", "--env", "moon", str(project))
    assert done.returncode == 2
    assert "no environment `moon`" in done.stderr and "production" in done.stderr


def test_deploy_without_dry_run_is_a_usage_error(tmp_path: Path) -> None:
    done = _gatic("deploy", str(redis_variant(tmp_path)))
    assert done.returncode == 2
    assert "--dry-run" in done.stderr
