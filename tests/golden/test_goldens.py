"""Golden tests: every example's build artifacts must equal the checked-in expectations.

A failure prints a unified diff and the command that rewrites the expectations.
"""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest

from gati_compiler.pipeline import build

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p for p in (ROOT / "examples").iterdir() if (p / "pyproject.toml").is_file())
GOLDEN = Path(__file__).resolve().parent
UPDATE = "python -m pytest tests/golden --update-goldens"


def _expected_files(folder: Path) -> dict[str, bytes]:
    if not folder.is_dir():
        return {}
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_artifacts_match_goldens(example: Path, tmp_path: Path, update_goldens: bool) -> None:
    project = tmp_path / example.name
    shutil.copytree(example, project, ignore=shutil.ignore_patterns(".gati", "__pycache__"))
    result = build(project, write=False, jobs=1)
    assert result.ok, [d.message for d in result.diagnostics]
    actual = dict(result.artifacts)
    expected_dir = GOLDEN / example.name / "expected"
    if update_goldens:
        shutil.rmtree(expected_dir, ignore_errors=True)
        for rel, data in actual.items():
            target = expected_dir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return
    expected = _expected_files(expected_dir)
    problems: list[str] = []
    for rel in sorted(set(expected) | set(actual)):
        if rel not in actual:
            problems.append(f"{rel}: expected but no longer produced")
        elif rel not in expected:
            problems.append(f"{rel}: produced but has no golden")
        elif actual[rel] != expected[rel]:
            diff = difflib.unified_diff(
                expected[rel].decode().splitlines(keepends=True),
                actual[rel].decode().splitlines(keepends=True),
                fromfile=f"golden/{rel}",
                tofile=f"build/{rel}",
            )
            problems.append("".join(list(diff)[:80]))
    assert not problems, "\n".join(problems) + f"\n\nif the change is intended, run: {UPDATE}"
