"""Diagnostic fixtures: small projects whose sources say which diagnostics a build must report.

Each folder under `tests/diagnostics_fixtures/` is a gati project (a `pyproject.toml` with
`[tool.gati]` plus Python files). A line carrying `# E: GATI201` expects an error with that code
whose span starts on that line; `# W: GATI307` a warning, `# I: ...` an info; several codes
may share a marker (`# E: GATI201 GATI110`). Where a comment cannot go (a TOML syntax error, a
file that is not UTF-8, a build artifact), the case's `expected.txt` lists `path:line: CODE`
lines instead (the severity is the code's default; `path:line: W: CODE` says it explicitly).
`expected.txt` may also hold directives:

- `mode: check`: build (writing artifacts), then run `check` and compare its diagnostics;
- `mode: fresh-check`: run `check` on the case as a fresh clone has it (no build folder);
- `tamper: <path>`: between that build and the check, change the artifact at `<path>`;
- `corrupt: <path>`: before building, write text that is not JSON to `<path>`.
- `mode: against`: Timescape's `check --against`: the case's `_base/` folder is committed to a
  fresh git repository, the case's own files replace it uncommitted, and the working tree is
  compared with `against: <ref>` (default `HEAD`; `@latest` asks for the latest recorded
  version instead); `git: none` skips the repository, `git: broken` deletes the committed
  tree object so git itself fails.

The runner compares the multiset of `(path, line, severity, code)` in the style of mypy's `.test`
files, so message wording can change without churn (STYLE 2.8). `test_every_code_has_a_fixture`
is the inventory test: every registered code is triggered by some fixture.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path

import pytest

from gati_compiler.diagnostics import codes
from gati_compiler.diagnostics.codes import REGISTRY
from gati_compiler.diagnostics.model import Diagnostic, DiagnosticSink, Severity
from gati_compiler.pipeline import BuildResult, build, check

FIXTURES = Path(__file__).resolve().parents[2] / "diagnostics_fixtures"
EXPECTED_FILE = "expected.txt"
CASES = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))

# Codes no fixture can trigger, with the reason (the inventory test skips them).
UNTRIGGERABLE: dict[str, str] = {
    codes.INTERNAL_ERROR.id: "a gati bug by definition; the property tests assert it never happens",
}

_LETTER = {"E": Severity.ERROR, "W": Severity.WARNING, "I": Severity.INFO}
_SHORT = {v: k for k, v in _LETTER.items()}
_INLINE = re.compile(r"#\s*([EWI]):\s*((?:GATI\d{3}[ \t]*)+)")
_LISTED = re.compile(r"^(?P<path>[^:\s][^:]*):(?P<line>\d+):\s*(?:(?P<sev>[EWI]):\s*)?(?P<codes>(?:GATI\d{3}\s*)+)$")
_DIRECTIVE = re.compile(r"^(?P<key>mode|tamper|corrupt|against|git):\s*(?P<value>\S+)\s*$")

Expectation = tuple[str, int, str, str]  # (path, line, severity letter, code)


@dataclass
class Case:
    name: str
    expected: Counter[Expectation] = field(default_factory=Counter)
    mode: str = "build"
    tamper: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)
    against: list[str] = field(default_factory=list)
    git: list[str] = field(default_factory=list)


def _inline_expectations(root: Path) -> Counter[Expectation]:
    found: Counter[Expectation] = Counter()
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.suffix not in (".py", ".toml") or "__pycache__" in path.parts:
            continue
        if path.relative_to(root).parts[0] == "_base":  # the committed side of `mode: against`
            continue
        rel = path.relative_to(root).as_posix()
        text = path.read_bytes().decode("utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            for match in _INLINE.finditer(line):
                for code in match.group(2).split():
                    found[(rel, number, match.group(1), code)] += 1
    return found


@cache
def load_case(name: str) -> Case:
    root = FIXTURES / name
    case = Case(name, _inline_expectations(root))
    listed = root / EXPECTED_FILE
    if listed.is_file():
        for raw in listed.read_text(encoding="utf-8").splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            directive = _DIRECTIVE.match(line)
            if directive is not None:
                key, value = directive.group("key"), directive.group("value")
                if key == "mode":
                    assert value in ("build", "check", "fresh-check", "against"), (
                        f"{name}/{EXPECTED_FILE}: unknown mode `{value}`"
                    )
                    case.mode = value
                else:
                    getattr(case, key).append(value)
                continue
            m = _LISTED.match(line)
            assert m is not None, f"{name}/{EXPECTED_FILE}: cannot read `{raw}` (want `path:line: CODE`)"
            for code in m.group("codes").split():
                assert code in REGISTRY, f"{name}/{EXPECTED_FILE}: `{code}` is not a registered code"
                letter = m.group("sev") or _SHORT[REGISTRY[code].default_severity]
                case.expected[(m.group("path"), int(m.group("line")), letter, code)] += 1
    for _, _, _, code in case.expected:
        assert code in REGISTRY, f"{name}: `{code}` is not a registered code"
    return case


def run_case(case: Case, tmp_path: Path) -> BuildResult:
    """Build (or check) a copy of the case, so the fixture folder itself is never written to."""
    project = tmp_path / case.name
    shutil.copytree(FIXTURES / case.name, project, ignore=shutil.ignore_patterns("__pycache__", EXPECTED_FILE))
    for rel in case.corrupt:
        target = project / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("{ this is not json\n", encoding="utf-8")
    if case.mode == "against":
        return _run_against(case, project)
    if case.mode == "fresh-check":
        return check(project, jobs=1)
    if case.mode == "check":
        first = build(project, jobs=1)
        assert first.ok, _describe(first.diagnostics)
        for rel in case.tamper:
            target = project / rel
            assert target.is_file(), f"{case.name}: `tamper: {rel}` names no artifact of the build"
            target.write_bytes(target.read_bytes() + b"\n")
        return check(project, jobs=1)
    return build(project, jobs=1)


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t"}
    env["GIT_COMMITTER_EMAIL"] = "t@e"
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout


def _run_against(case: Case, project: Path) -> BuildResult:
    """Commit `_base/` as the only commit, put the case's files back uncommitted, compare."""
    from gati_compiler.timescape.check import compare_sides, latest_version, open_lock

    base = project / "_base"
    work = project.parent / f"{case.name}-work"
    shutil.move(project, work)
    project.mkdir()
    if base.name in {p.name for p in work.iterdir()}:
        shutil.copytree(work / base.name, project, dirs_exist_ok=True)
        shutil.rmtree(work / base.name)
    git_mode = case.git[0] if case.git else "commit"
    if git_mode != "none":
        _git(project, "init", "-q", "-b", "main")
        _git(project, "add", "-A")
        _git(project, "commit", "-q", "--allow-empty", "-m", "base")
        if git_mode == "broken":
            tree = _git(project, "rev-parse", "HEAD^{tree}").strip()
            (project / ".git" / "objects" / tree[:2] / tree[2:]).unlink()
    for item in project.iterdir():
        if item.name != ".git":
            shutil.rmtree(item) if item.is_dir() else item.unlink()
    shutil.copytree(work, project, dirs_exist_ok=True)
    ref = case.against[0] if case.against else "HEAD"
    today = date(2026, 12, 3)
    if ref == "@latest":
        sink = DiagnosticSink()
        cfg, lock = open_lock(project, sink)
        if latest_version(cfg, lock, sink) is None:
            return BuildResult(project_dir=project, diagnostics=sink.diagnostics)
        raise AssertionError(f"{case.name}: expected no recorded version")
    outcome = compare_sides(project, old_ref=ref, today=today, jobs=1)
    return BuildResult(project_dir=project, diagnostics=outcome.diagnostics)


def actual_of(diagnostics: list[Diagnostic]) -> Counter[Expectation]:
    return Counter((d.span.path, d.span.line, _SHORT[d.severity], d.code) for d in diagnostics)


def _describe(diagnostics: list[Diagnostic]) -> str:
    lines = []
    for d in sorted(diagnostics, key=lambda d: d.sort_key):
        lines.append(f"  {d.span.path}:{d.span.line}:{d.span.col}: {d.severity.value}[{d.code}] {d.message}")
        if d.code == codes.INTERNAL_ERROR.id:
            lines.extend(f"      {n}" for n in d.notes)
    return "\n".join(lines) or "  (none)"


def _fmt(item: Expectation, count: int) -> str:
    path, line, letter, code = item
    return f"{path}:{line}: {letter}: {code}" + (f"  (x{count})" if count > 1 else "")


def diff_report(name: str, expected: Counter[Expectation], result: BuildResult) -> str:
    actual = actual_of(result.diagnostics)
    missing = expected - actual
    unexpected = actual - expected
    out = [f"diagnostics of fixture `{name}` differ from its expectations"]
    if missing:
        out.append("expected but not reported:")
        out.extend(f"  - {_fmt(k, v)}" for k, v in sorted(missing.items()))
    if unexpected:
        out.append("reported but not expected:")
        out.extend(f"  + {_fmt(k, v)}" for k, v in sorted(unexpected.items()))
    out.append("all reported diagnostics:")
    out.append(_describe(result.diagnostics))
    out.append(f"(edit the `# E:` markers in tests/diagnostics_fixtures/{name}/ or its {EXPECTED_FILE})")
    return "\n".join(out)


@pytest.mark.parametrize("name", CASES)
def test_fixture(name: str, tmp_path: Path) -> None:
    case = load_case(name)
    assert case.expected, f"fixture `{name}` expects no diagnostics; give it at least one marker"
    result = run_case(case, tmp_path)
    assert not result.internal_error, _describe(result.diagnostics)
    assert actual_of(result.diagnostics) == case.expected, diff_report(name, case.expected, result)


def test_every_code_has_a_fixture() -> None:
    """The inventory test (griffe style): each registered code is expected by at least one fixture."""
    covered = {code for name in CASES for _, _, _, code in load_case(name).expected}
    wanted = {c for c, info in REGISTRY.items() if not info.retired} - set(UNTRIGGERABLE)
    missing = sorted(wanted - covered)
    assert not missing, f"no fixture in tests/diagnostics_fixtures/ triggers {', '.join(missing)}"
    assert not covered & set(UNTRIGGERABLE), "a code listed as untriggerable has a fixture; drop it from the list"


def test_untriggerable_codes_are_registered() -> None:
    assert set(UNTRIGGERABLE) <= set(REGISTRY)


def test_third_party_type_names_the_way_out(tmp_path: Path) -> None:
    result = run_case(load_case("third_party_type"), tmp_path)
    found = [d for d in result.diagnostics if d.code == codes.THIRD_PARTY_TYPE.id]
    assert found
    for d in found:
        assert "sqlalchemy" in d.message
        assert d.help is not None
        assert "TypedDict" in d.help and "Any" in d.help, d.help


def test_syntax_error_does_not_hide_other_files(tmp_path: Path) -> None:
    result = run_case(load_case("syntax_error"), tmp_path)
    paths = {d.span.path: d.code for d in result.diagnostics}
    assert paths.get("broken.py") == codes.SYNTAX_ERROR.id
    assert paths.get("handlers.py") == codes.UNRESOLVED_NAME.id
    broken = next(d for d in result.diagnostics if d.code == codes.SYNTAX_ERROR.id)
    assert broken.help is not None and "other files" in broken.help


def test_runner_reads_markers_and_listed_expectations(tmp_path: Path) -> None:
    """The runner's own parsing: inline markers (several codes, several markers) and `expected.txt`."""
    (tmp_path / "a.py").write_text("x = 1  # E: GATI201 GATI110\ny = 2  # W: GATI307  # E: GATI201\n")
    (tmp_path / "pyproject.toml").write_text("[tool.gati]\nsorces = []  # E: GATI002\n")
    assert _inline_expectations(tmp_path) == Counter(
        {
            ("a.py", 1, "E", "GATI201"): 1,
            ("a.py", 1, "E", "GATI110"): 1,
            ("a.py", 2, "W", "GATI307"): 1,
            ("a.py", 2, "E", "GATI201"): 1,
            ("pyproject.toml", 2, "E", "GATI002"): 1,
        }
    )
    assert _LISTED.match("pyproject.toml:3: GATI001 GATI002") is not None
    m = _LISTED.match(".gati/manifest.json:1: W: GATI401")
    assert m is not None and m.group("sev") == "W"
