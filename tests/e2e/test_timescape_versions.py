"""`gatic diff` and `gatic changelog` over versions recorded in `timescape.lock`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAD = (
    "from typing import NotRequired, TypedDict\n"
    "from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get, post\n"
)
ORDER = "class Order(TypedDict):\n    qty: int\n"
CREATE = (
    '@post("/orders")\n'
    "def create(req: Request[Order], res: Response[Order], lctx: LocalContext, gctx: GlobalContext) -> None: ...\n"
)


def gatic(project: Path, *args: str, at: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "GATI_TIMESCAPE_TODAY": "2026-12-03"}
    if at is not None:
        env["GATI_TIMESCAPE_AT"] = at
    script = Path(sys.executable).parent / "gatic"
    return subprocess.run([str(script), *args], cwd=project, env=env, capture_output=True, text=True, timeout=120)


def write(project: Path, source: str) -> None:
    (project / "app").mkdir(parents=True, exist_ok=True)
    (project / "pyproject.toml").write_text('[tool.gati]\nname = "shop"\n', encoding="utf-8")
    (project / "app" / "__init__.py").write_text("", encoding="utf-8")
    (project / "app" / "handlers.py").write_text(HEAD + source, encoding="utf-8")


@pytest.fixture
def recorded(tmp_path: Path) -> Path:
    """Two recorded versions (v1, v2: a new optional field) and an unreleased break."""
    project = tmp_path / "shop"
    write(project, ORDER + CREATE)
    done = gatic(project, "version", "record", ".", "--tag", "v1", at="2026-11-01T10:00:00Z")
    assert done.returncode == 0, done.stdout + done.stderr
    write(project, ORDER + "    note: NotRequired[str]\n" + CREATE)
    done = gatic(project, "version", "record", ".", "--tag", "v2", at="2026-11-15T10:00:00Z")
    assert done.returncode == 0, done.stdout + done.stderr
    write(project, ORDER.replace("qty: int", "qty: str") + "    note: NotRequired[str]\n" + CREATE)
    return project


def test_diff_defaults_to_latest_version_against_the_working_tree(recorded: Path) -> None:
    done = gatic(recorded, "diff", ".", "--format", "json")
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["old"] == "version 2026-11-15T10:00:00Z (v2)" and report["new"] == "working tree"
    assert {f["rule"] for f in report["findings"]} == {
        "request-property-type-changed",
        "response-property-type-changed",
    }


def test_diff_between_two_recorded_versions_by_tag(recorded: Path) -> None:
    done = gatic(recorded, "diff", ".", "--from", "v1", "--to", "v2", "--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    rules = sorted(f["rule"] for f in json.loads(done.stdout)["findings"])
    assert rules == ["request-property-added", "response-property-added"]


def test_changelog_lists_versions_newest_first_with_unreleased(recorded: Path) -> None:
    done = gatic(recorded, "changelog", ".")
    assert done.returncode == 0, done.stdout + done.stderr
    text = done.stdout
    assert (
        text.index("## Unreleased")
        < text.index("## 2026-11-15T10:00:00Z (tags: v2)")
        < text.index("## 2026-11-01T10:00:00Z (tags: v1)")
    )
    unreleased = text[text.index("## Unreleased") : text.index("## 2026-11-15")]
    assert "### Breaking" in unreleased and "request-property-type-changed" in unreleased
    assert "First recorded contract: 1 endpoint." in text
    data = json.loads(gatic(recorded, "changelog", ".", "--format", "json").stdout)
    assert [s["title"] for s in data["sections"]] == ["Unreleased", "2026-11-15T10:00:00Z", "2026-11-01T10:00:00Z"]
    assert [f["rule"] for f in data["sections"][1]["findings"]] == ["request-property-added", "response-property-added"]


def test_diff_without_a_recorded_version_is_gati728(tmp_path: Path) -> None:
    write(tmp_path, ORDER + CREATE)
    done = gatic(tmp_path, "diff", ".")
    assert done.returncode == 1 and "GATI728" in done.stderr
