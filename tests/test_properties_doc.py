"""`docs/properties.md` maps all 47 seed properties, and every test it names exists.

The table has one row per property number (1 to 47, each exactly once). A row is `tested` with at
least one test id (`tests/...py::test_name`, each a test function defined at the top level of
that file), `planned in issue N` for an open issue, or `dropped` with its reason. Every
`test_property_<n>_...` function under `tests/property/` is listed, in the row of its number.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Final

import pytest

ROOT: Final = Path(__file__).resolve().parents[1]
DOC: Final = ROOT / "docs" / "properties.md"
COUNT: Final = 47
ISSUES: Final = frozenset(range(10, 19))  # the open issues the rows may point at
NODE_ID: Final = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def rows() -> dict[int, list[str]]:
    """Property number -> the cells of its row (a number may appear more than once: all kept)."""
    out: dict[int, list[str]] = {}
    seen: list[int] = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\|\s*(\d+)\s*\|", line)
        if m is None:
            continue
        number = int(m.group(1))
        seen.append(number)
        out[number] = [c.strip() for c in line.strip().strip("|").split(" | ")]
    duplicates = sorted({n for n in seen if seen.count(n) > 1})
    assert not duplicates, f"properties listed more than once: {duplicates}"
    return out


def test_every_property_is_listed_exactly_once() -> None:
    assert sorted(rows()) == list(range(1, COUNT + 1))


def test_every_row_has_a_status_and_what_it_needs() -> None:
    for number, cells in rows().items():
        assert len(cells) == 5, f"row {number} has {len(cells)} cells, not 5"
        _, name, statement, status, tests = cells
        assert name and statement, f"row {number} needs a name and our statement"
        ids = NODE_ID.findall(tests)
        if status == "tested":
            assert ids, f"property {number} is marked tested but names no test"
        elif m := re.fullmatch(r"planned in issue (\d+)( \(in progress\))?", status):
            assert int(m.group(1)) in ISSUES, f"property {number} points at unknown issue {m.group(1)}"
        else:
            assert re.fullmatch(r"dropped: .{10,}", status), f"property {number}: unknown status {status!r}"


def _functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}


@pytest.mark.parametrize("number", range(1, COUNT + 1))
def test_every_named_test_exists(number: int) -> None:
    cells = rows().get(number)
    assert cells is not None
    for file, function in NODE_ID.findall(" ".join(cells)):
        path = ROOT / file
        assert path.is_file(), f"property {number}: no file {file}"
        assert function.startswith("test_"), f"property {number}: {function} is not a test"
        assert function in _functions(path), f"property {number}: {file} defines no {function}"


def test_every_property_test_is_mapped() -> None:
    table = rows()
    for path in sorted((ROOT / "tests" / "property").glob("test_*.py")):
        for function in sorted(_functions(path)):
            m = re.match(r"test_property_(\d+)_", function)
            if m is None:
                continue
            node = f"`{path.relative_to(ROOT).as_posix()}::{function}`"
            number = int(m.group(1))
            assert number in table and node in table[number][4], f"{node} is not listed for property {number}"
