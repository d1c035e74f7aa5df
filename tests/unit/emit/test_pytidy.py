"""The last pass over generated functions (`gati_compiler/emit/_pytidy.py`): each rewrite gives the
shape ruff asks for, leaves shapes it cannot merge alone, and computes the same results (both
forms are run on every combination of inputs); long format patterns are cut into literals that
join back exactly."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from typing import Any

import pytest

from gati_compiler.emit._pytidy import negate, tidy, tidy_predicate
from gati_compiler.emit.render import pattern_literals
from gati_compiler.ir.jsonschema import FORMAT_PATTERNS


def _function(lines: list[str], params: str) -> Callable[..., Any]:
    namespace: dict[str, Any] = {}
    exec("\n".join([f"def f({params}):", *lines]), namespace)  # the generated shapes, run as written
    fn: Callable[..., Any] = namespace["f"]
    return fn


def _same_results(before: list[str], after: list[str], params: str, *values: tuple[object, ...]) -> None:
    """Both forms give the same result for every combination of the given values of each parameter."""
    old, new = _function(before, params), _function(after, params)
    for args in itertools.product(*values):
        assert old(*args) == new(*args), args


def test_an_if_holding_only_an_if_becomes_one_condition() -> None:
    before = [
        "    if a is not None:",
        "        if b > 1 or c:",
        "            return 1",
        "    return 0",
    ]
    after = tidy(before)
    assert after == ["    if a is not None and (b > 1 or c):", "        return 1", "    return 0"]
    _same_results(before, after, "a, b, c", (None, 0), (0, 2), (0, 1))


def test_a_nested_if_next_to_an_else_is_left_alone() -> None:
    before = ["    if a:", "        if b:", "            return 1", "    else:", "        return 2", "    return 0"]
    assert tidy(before) == before


def test_an_else_holding_only_pass_goes_and_what_it_closed_can_merge() -> None:
    before = [
        "    r = 0",
        "    if a is not None:",
        "        if b > 1:",
        "            r = 1",
        "        else:",
        "            pass",
        "    else:",
        "        pass",
        "    for x in [a]:",
        "        r += 1",
        "    else:",
        "        pass",
        "    return r",
    ]
    after = tidy(before)
    assert after == [
        "    r = 0",
        "    if a is not None and b > 1:",
        "        r = 1",
        "    for x in [a]:",
        "        r += 1",
        "    return r",
    ]
    _same_results(before, after, "a, b", (None, 0), (0, 2))


def test_branches_with_the_same_body_share_one_condition() -> None:
    before = [
        "    if not a:",
        "        r = [b]",
        "    elif b == 2:",
        "        r = [b]",
        "    else:",
        "        r = []",
        "    return r",
    ]
    after = tidy(before)
    # merged, the two branches are one assignment each way: a conditional expression
    assert after == ["    r = [b] if not a or b == 2 else []", "    return r"]
    _same_results(before, after, "a, b", (0, 1), (0, 1, 2))


def test_one_assignment_each_way_becomes_a_conditional_expression() -> None:
    before = ["    if len(a) == 2:", "        o = a", "    else:", '        o = {"x": b}', "    return o"]
    after = tidy(before)
    assert after == ['    o = a if len(a) == 2 else {"x": b}', "    return o"]
    _same_results(before, after, "a, b", ((1, 2), (1,)), (3, None))


def test_a_wide_conditional_rebuild_is_laid_out_as_ruff_format_keeps_it() -> None:
    fields = ", ".join(f'"field_{i}": a{i}' for i in range(5))
    before = [
        "    if len(value) == 5:",
        "        output = value",
        "    else:",
        "        output = {",
        *(f'            "field_{i}": a{i},' for i in range(5)),
        "        }",
    ]
    after = tidy(before)
    assert after[:4] == ["    output = (", "        value", "        if len(value) == 5", "        else {"]
    assert "{" + ", ".join(line.strip().rstrip(",") for line in after[4:9]) + "}" == "{" + fields + "}"
    assert after[-2:] == ["        }", "    )"]


def test_lines_it_does_not_understand_come_back_unchanged() -> None:
    odd = ["    if a:", "          return 1", "    return 0"]
    assert tidy(odd) == odd


def test_a_predicate_returns_its_last_test() -> None:
    before = [
        "def f(v, w):",
        "    if type(v) is not int:",
        "        return False",
        "    if w is not None:",
        "        if type(w) is not str or w not in ('a', 'b'):",
        "            return False",
        "    return True",
    ]
    after = tidy_predicate(before)
    assert after[-1] == "    return w is None or (type(w) is str and w in ('a', 'b'))"
    namespace: dict[str, Any] = {}
    exec("\n".join(before), namespace)
    old = namespace["f"]
    exec("\n".join(after), namespace)
    new = namespace["f"]
    for args in itertools.product((1, "a", None), (None, "a", "c", 3)):
        assert old(*args) is new(*args), args


def test_a_predicate_ending_in_a_loop_over_a_check_maps_it() -> None:
    before = [
        "def f(v):",
        "    if type(v) is not list:",
        "        return False",
        "    for v1 in v:",
        "        if not _chk_2(v1):",
        "            return False",
        "    return True",
    ]
    assert tidy_predicate(before)[-1] == "    return all(map(_chk_2, v))"


@pytest.mark.parametrize(
    ("cond", "negated"),
    [
        ("a is not b", "a is b"),
        ("len(x) < 1 or len(x) > 3", "len(x) >= 1 and len(x) <= 3"),
        ("not _chk_1(x)", "_chk_1(x)"),
        ("a is not B and (t is not str or a not in C)", "a is B or (t is str and a in C)"),
        ("not v", "bool(v)"),  # not a check: `v` itself may be no bool
        ("a == 1 or b", "not (a == 1 or b)"),
    ],
)
def test_negate_keeps_a_bool(cond: str, negated: str) -> None:
    assert negate(cond) == negated
    for a, b, x, v in itertools.product((0, 1), (True, False), ("", "abcd"), ("", "s")):
        scope = {"a": a, "b": b, "x": x, "v": v, "B": 1, "C": (0,), "t": str, "_chk_1": bool}
        expected = not eval(cond, scope)
        got = eval(negated, scope)
        assert got is expected, (cond, a, b, x, v)


@pytest.mark.parametrize("name", sorted(FORMAT_PATTERNS))
def test_pattern_literals_join_back_to_the_pattern(name: str) -> None:
    pattern = FORMAT_PATTERNS[name]
    pieces = pattern_literals(pattern)
    assert "".join(eval(piece) for piece in pieces) == pattern
    assert all(len(piece) <= 115 for piece in pieces)
    re.compile("".join(eval(piece) for piece in pieces))
