"""`export_tests`: recorded requests as a pytest module that is formatted, lint-clean and typed.

(The module run against a real build, passing and then failing when the app changes, is
`tests/e2e/test_playground_replay.py`.)"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gati_runtime_min.playground.export import export_tests, literal, request_headers
from gati_runtime_min.playground.trace import Trace

BIN = Path(sys.executable).parent
text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30)
scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.floats(allow_nan=False, allow_infinity=False)
json_values = st.recursive(
    scalars | text, lambda inner: st.lists(inner, max_size=6) | st.dictionaries(text, inner, max_size=6), max_leaves=40
)
PYPROJECT = """\
[project]
name = "shop"
version = "0.1.0"

[tool.ruff]
line-length = 120

[tool.ruff.lint]
select = ["E", "F", "I", "UP", "B", "SIM", "PTH", "RUF"]
"""


def trace(rid: str, body: Any, answer: Any, *, status: int = 200, path: str = "/books") -> Trace:
    t = Trace("POST", path, "dry=1", 0.0, 0.0, "a" * 32)
    t.request_id = rid
    t.handler_id = "create_book"
    t.version = "2026-10-01T09:00:00Z"
    t.headers = [
        ("host", "127.0.0.1:8000"),
        ("content-type", "application/json"),
        ("content-length", "12"),
        ("x-api-key", "[redacted]"),
        ("traceparent", "00-" + "a" * 32 + "-" + "b" * 16 + "-01"),
        ("x-gati-version", "v1.1.0"),
    ]
    t.body = body
    t.status = status
    t.response = {"status": status, "headers": [["content-type", "application/json"]], "body": answer}
    return t


@given(json_values)
def test_a_json_value_is_written_as_the_python_literal_of_itself(value: Any) -> None:
    assert ast.literal_eval(literal(value)) == value


def test_headers_of_the_connection_and_the_recorded_run_are_not_sent_again() -> None:
    headers, hidden = request_headers(trace("r1", None, None))
    assert headers == {"content-type": "application/json", "x-gati-version": "v1.1.0"}
    assert hidden == ["x-api-key"]


def test_each_trace_is_one_test_named_after_its_handler_and_request() -> None:
    module = export_tests([trace("0Ab-1", {"t": 1}, {"id": 1}), trace("0Ab-1", None, {"id": 2})], ignore=["id"])
    tree = ast.parse(module)
    tests = [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")]
    assert tests == ["test_create_book_0ab_1", "test_create_book_0ab_1_2"]
    assert 'IGNORE: frozenset[str] = frozenset({"id"})' in module
    assert 'headers["x-api-key"] = redacted("x-api-key")' in module
    assert "assert response.status_code == 200" in module


@settings(max_examples=8, deadline=None)
@given(st.lists(st.tuples(json_values, json_values, st.integers(1, 150)), min_size=1, max_size=6))
def test_the_module_passes_ruff_in_a_project(cases: list[tuple[Any, Any, int]]) -> None:
    import tempfile

    traces = [trace(f"r{i}", body, answer, path="/b/" + "x" * n) for i, (body, answer, n) in enumerate(cases)]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
        (root / "test_replays.py").write_text(export_tests(traces, ignore=("id", "created_at")), encoding="utf-8")
        for cmd in (["ruff", "format", "--check", "--diff", "."], ["ruff", "check", "--no-cache", "."]):
            done = subprocess.run([str(BIN / cmd[0]), *cmd[1:]], cwd=root, capture_output=True, text=True)
            assert done.returncode == 0, done.stdout + done.stderr


def test_the_module_passes_mypy_strict(tmp_path: Path) -> None:
    traces = [trace("r1", {"title": "Dune", "tags": ["sf"]}, {"id": 1, "title": "Dune"}), trace("r2", None, None)]
    (tmp_path / "test_replays.py").write_text(export_tests(traces), encoding="utf-8")
    done = subprocess.run(
        [str(BIN / "mypy"), "--strict", "--no-incremental", "--cache-dir", str(tmp_path / ".mypy"), "test_replays.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
