"""`diff_json` (what differs between two JSON values, by JSON path) and `diff_traces` (the steps of
two runs lined up)."""

from __future__ import annotations

import copy
import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gati_runtime_min.playground.diff import Change, diff_json, diff_traces
from gati_runtime_min.playground.trace import Span, Trace

scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False) | st.text(max_size=8)
keys = st.sampled_from(["a", "b", "id", "a.b", "x y", '"q"', "0", ""]) | st.text(max_size=4)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4), max_leaves=20
)

_STEP = re.compile(r'\.([A-Za-z_][A-Za-z0-9_]*)|\[("(?:[^"\\]|\\.)*")\]|\[(\d+)\]')


def parse_path(path: str) -> list[str | int]:
    """`$.a["b c"][0]` -> ["a", "b c", 0] (the inverse of the paths `diff_json` writes)."""
    import json

    assert path.startswith("$")
    out: list[str | int] = []
    rest = path[1:]
    while rest:
        m = _STEP.match(rest)
        assert m is not None, f"not a JSON path: {path}"
        name, quoted, index = m.groups()
        out.append(name if name is not None else json.loads(quoted) if quoted is not None else int(index))
        rest = rest[m.end() :]
    return out


def apply(old: Any, changes: list[Change]) -> Any:
    """`old` with `changes` made: changes and additions in order, then removals from the last index."""
    root = {"$": copy.deepcopy(old)}

    def parent(steps: list[str | int]) -> tuple[Any, str | int]:
        node: Any = root
        where: list[str | int] = ["$", *steps]
        for step in where[:-1]:
            node = node[step]
        return node, where[-1]

    removals: list[list[str | int]] = []
    for change in changes:
        steps = parse_path(change.path)
        if change.op == "removed":
            removals.append(steps)
            continue
        node, last = parent(steps)
        if change.op == "added" and isinstance(node, list):
            assert last == len(node), "array items are added at the end, in order"
            node.append(change.new)
        else:
            node[last] = change.new
    for steps in sorted(removals, key=lambda s: [(-x if isinstance(x, int) else 0) for x in s], reverse=False):
        node, last = parent(steps)
        del node[last]
    return root["$"]


@given(json_values)
def test_a_value_has_no_changes_against_itself(value: Any) -> None:
    assert diff_json(value, value) == []
    assert diff_json(value, copy.deepcopy(value)) == []


@settings(max_examples=300)
@given(json_values, json_values)
def test_applying_the_changes_to_old_gives_new(old: Any, new: Any) -> None:
    assert apply(old, diff_json(old, new)) == new


@settings(max_examples=300)
@given(json_values, json_values)
def test_each_change_names_a_distinct_path(old: Any, new: Any) -> None:
    paths = [c.path for c in diff_json(old, new)]
    assert len(paths) == len(set(paths))


def test_changes_are_named_by_json_path() -> None:
    old = {"book": {"title": "Dune", "tags": ["sf", "classic"], "stock": 3}, "a key": 1, "n": 1}
    new = {"book": {"title": "Dune", "tags": ["sf"], "in_stock": 3}, "a key": 2, "n": "1"}
    assert [c.to_json() for c in diff_json(old, new)] == [
        {"op": "removed", "path": "$.book.tags[1]", "old": "classic", "new": None},
        {"op": "removed", "path": "$.book.stock", "old": 3, "new": None},
        {"op": "added", "path": "$.book.in_stock", "old": None, "new": 3},
        {"op": "changed", "path": '$["a key"]', "old": 1, "new": 2},
        {"op": "changed", "path": "$.n", "old": 1, "new": "1"},  # a type change
    ]


def test_a_type_change_is_one_change_not_a_walk_inside() -> None:
    assert diff_json({"a": {"b": 1}}, {"a": [1]}) == [Change("changed", "$.a", {"b": 1}, [1])]
    assert diff_json(True, 1) == [Change("changed", "$", True, 1)]  # a boolean is not a number
    assert diff_json(1, 1.0) == []  # one JSON number


def test_changes_render_one_line_each() -> None:
    lines = [c.render() for c in diff_json({"a": 1, "b": 2}, {"a": 3, "c": [4]})]
    assert lines == ["~ $.a: 1 -> 3", "- $.b: 2", "+ $.c: [4]"]


def _trace(*steps: tuple[str, float, str]) -> Trace:
    trace = Trace("GET", "/books/1", "", 0.0, 0.0, "t" * 32)
    trace.spans.append(Span("GET /books/{id}", 0.0, None, kind="server"))
    trace.spans.append(Span("route", 0.0, None))
    at = 0.001
    for name, seconds, status in steps:
        span = Span(name, at, None)
        span.end = at + seconds
        span.status = status
        trace.spans.append(span)
        at += seconds
    return trace


def test_trace_steps_are_lined_up_by_name_with_both_durations() -> None:
    left = _trace(
        ("hook before auth", 0.001, "ok"),
        ("decode params", 0.0005, "ok"),
        ("handler get_book", 0.004, "ok"),
        ("transformer get_book_to_v1_1_0", 0.0002, "ok"),
        ("encode response", 0.0003, "ok"),
    )
    right = _trace(
        ("hook before auth", 0.002, "ok"),
        ("decode params", 0.0005, "ok"),
        ("handler get_book", 0.003, "error"),
        ("module store.get_book", 0.001, "ok"),
    )
    rows = diff_traces(left, right)
    assert [(r["step"], r["side"], r["changed"]) for r in rows] == [
        ("hook before auth", "both", False),
        ("decode params", "both", False),
        ("handler get_book", "both", True),  # failed on the right only
        ("transformer get_book_to_v1_1_0", "left", True),
        ("encode response", "left", True),
        ("module store.get_book", "right", True),
    ]
    assert (rows[0]["leftMs"], rows[0]["rightMs"]) == (1.0, 2.0)
    assert (rows[3]["leftMs"], rows[3]["rightMs"]) == (0.2, None)
    assert (rows[2]["leftStatus"], rows[2]["rightStatus"]) == ("ok", "error")
