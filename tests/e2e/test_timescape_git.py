"""`gatic check --against` and `gatic diff` on a real git repository with history, run as the
`gatic` console script in a subprocess; the working tree is never touched by the check."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

HEAD = (
    "from typing import NotRequired, TypedDict\n"
    "from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get, post\n"
)
ORDER_V1 = "class Order(TypedDict):\n    qty: int\n    note: NotRequired[str]\n"
CREATE = (
    '@post("/orders", status=201)\n'
    "def create(req: Request[Order], res: Response[Order], lctx: LocalContext, gctx: GlobalContext) -> None: ...\n"
)
PING = (
    '@get("/ping")\n'
    "def ping(req: Request[None], res: Response[str], lctx: LocalContext, gctx: GlobalContext) -> None: ...\n"
)


def git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    done = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True)
    return done.stdout


def write(repo: Path, handlers: str, config: str = "") -> None:
    (repo / "pyproject.toml").write_text('[tool.gati]\nname = "shop"\n' + textwrap.dedent(config), encoding="utf-8")
    (repo / "app").mkdir(exist_ok=True)
    (repo / "app" / "__init__.py").write_text("", encoding="utf-8")
    (repo / "app" / "handlers.py").write_text(HEAD + handlers, encoding="utf-8")


def commit(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def gatic(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "GATI_TIMESCAPE_TODAY": "2026-12-03"}
    script = Path(sys.executable).parent / "gatic"
    return subprocess.run([str(script), *args], cwd=repo, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    write(root, ORDER_V1 + CREATE + PING)
    commit(root, "v1")
    return root


def test_check_against_fails_on_an_unaccepted_break(repo: Path) -> None:
    write(repo, ORDER_V1.replace("qty: int", "qty: str") + CREATE + PING)
    commit(repo, "qty becomes a string")
    before = (repo / "app" / "handlers.py").read_bytes()
    done = gatic(repo, "check", ".", "--against", "HEAD~1")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "request-property-type-changed" in done.stdout and "request.body.qty" in done.stdout
    assert "response-property-type-changed" in done.stdout
    assert "app/handlers.py" in done.stdout
    assert (repo / "app" / "handlers.py").read_bytes() == before
    assert git(repo, "status", "--porcelain") == ""


def test_check_against_passes_on_a_compatible_change(repo: Path) -> None:
    extra = "    gift: NotRequired[bool]\n"
    write(repo, ORDER_V1 + extra + CREATE + PING + PING.replace("ping", "pong"))
    commit(repo, "optional field, new endpoint")
    done = gatic(repo, "check", ".", "--against", "HEAD~1", "--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is True
    rules = {f["rule"] for f in report["findings"]}
    assert {"endpoint-added", "request-property-added", "response-property-added"} <= rules
    assert all(f["status"] == "safe" for f in report["findings"])


def test_check_against_passes_on_an_accepted_break_and_still_shows_it(repo: Path) -> None:
    accept = """
    [[tool.gati.timescape.accept]]
    rule = "api-path-removed-without-deprecation"
    handler = "ping"
    reason = "ping was never public"
    """
    write(repo, ORDER_V1 + CREATE, accept)
    commit(repo, "drop ping")
    done = gatic(repo, "check", ".", "--against", "HEAD~1", "--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    (finding,) = [f for f in json.loads(done.stdout)["findings"] if f["handler"] == "ping"]
    assert (finding["status"], finding["accepted"]) == ("accepted", "ping was never public")
    assert finding["tree"] == "old"


def test_an_expired_acceptance_is_an_error(repo: Path) -> None:
    accept = """
    [[tool.gati.timescape.accept]]
    rule = "api-path-removed-without-deprecation"
    handler = "ping"
    reason = "temporary"
    expires = 2026-01-01
    """
    write(repo, ORDER_V1 + CREATE, accept)
    commit(repo, "drop ping")
    done = gatic(repo, "check", ".", "--against", "HEAD~1")
    assert done.returncode == 1
    assert "GATI723" in done.stdout and "pyproject.toml:" in done.stdout


def test_uncommitted_working_tree_changes_are_compared(repo: Path) -> None:
    write(repo, ORDER_V1 + CREATE)  # not committed
    done = gatic(repo, "check", ".", "--against", "HEAD", "--format", "github")
    assert done.returncode == 1
    assert done.stdout.startswith("::error file=app/handlers.py,line=")
    assert "api-path-removed-without-deprecation" in done.stdout


def test_a_bad_ref_and_a_folder_outside_git_are_diagnostics(repo: Path, tmp_path: Path) -> None:
    done = gatic(repo, "check", ".", "--against", "no-such-branch")
    assert done.returncode == 1 and "GATI721" in done.stdout
    outside = tmp_path / "plain"
    outside.mkdir()
    write(outside, PING)
    done = gatic(outside, "check", ".", "--against", "HEAD")
    assert done.returncode == 1 and "GATI720" in done.stdout


@pytest.mark.slow
def test_works_in_a_shallow_clone_with_the_ref_fetched(repo: Path, tmp_path: Path) -> None:
    write(repo, ORDER_V1.replace("qty: int", "qty: str") + CREATE + PING)
    commit(repo, "break")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth=1", f"file://{repo}", str(clone))
    done = gatic(clone, "check", ".", "--against", "HEAD~1")
    assert done.returncode == 1 and "GATI721" in done.stdout and "shallow" in done.stdout
    git(clone, "fetch", "-q", "--depth=2", "origin", "main")
    done = gatic(clone, "check", ".", "--against", "HEAD~1")
    assert done.returncode == 1 and "request-property-type-changed" in done.stdout


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["sarif", "junit", "markdown"])
def test_report_formats(repo: Path, fmt: str) -> None:
    write(repo, ORDER_V1.replace("qty: int", "qty: str") + CREATE + PING)
    done = gatic(repo, "check", ".", "--against", "HEAD", "--format", fmt)
    assert done.returncode == 1
    if fmt == "sarif":
        results = json.loads(done.stdout)["runs"][0]["results"]
        assert {r["ruleId"] for r in results} >= {"request-property-type-changed"}
    elif fmt == "junit":
        assert '<failure type="request-property-type-changed"' in done.stdout
    else:
        assert done.stdout.startswith("### ❌ Timescape: 2 breaking changes")
        assert "| ❌ | ERR | WIRE | `request-property-type-changed` | `request.body.qty`" in done.stdout


def test_diff_between_two_refs_and_the_gate_options(repo: Path) -> None:
    write(repo, ORDER_V1 + CREATE + PING.replace('@get("/ping")', '@get("/ping", roles=["ops"])'))
    commit(repo, "ping needs a role")
    done = gatic(repo, "diff", ".", "--from", "HEAD~1", "--to", "HEAD", "--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr  # api-security-added is WARN; the gate is ERR
    assert [f["rule"] for f in json.loads(done.stdout)["findings"]] == ["api-security-added"]
    done = gatic(repo, "diff", ".", "--from", "HEAD~1", "--to", "HEAD", "--fail-on", "WARN")
    assert done.returncode == 1
