"""Simple patterns tested by `str` methods (`_valpattern`): the tests reject exactly the strings the
compiled regex finds no match in, on generated matches, their near misses (a character replaced,
inserted or dropped, by ASCII and by Unicode look-alikes: Arabic-Indic and fullwidth digits,
fullwidth letters, the Kelvin sign, a lone surrogate) and arbitrary text; every other pattern keeps
its regex; and a generated decoder reports the same issues either way."""

from __future__ import annotations

import importlib.util
import re
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gati_compiler.emit._valbase import ecma_anchors
from gati_compiler.emit._valpattern import FastPattern, fast_pattern
from gati_compiler.emit.validators import emit_validators
from gati_compiler.ir.gtype import GType, ObjectType, PrimitiveType, Property

SIMPLE = (
    "^[0-9]{5}$",
    "^[A-Z]{3}-[0-9]{4}$",
    "^[a-z]+$",
    "^[A-Z]{2,3}$",
    "^[a-zA-Z]{1,20}$",
    "^[0-9a-zA-Z]+$",
    "^\\d{4}$",
    "^\\d{2,6}$",
    "^\\d+$",
    "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
    "^(?:[A-F]){2}[0-9]{3}$",
    "\\A[a-f]{3}\\.x$",
)
KEPT = (
    "^[^@\\s]+@[^@\\s]+\\.[a-z]+$",  # negated classes
    "[0-9]{5}",  # unanchored: a match anywhere
    "^[0-9]{5}",
    "^\\w+$",
    "^.{3}$",
    "^(?i)[a-z]{3}$",
    "^[a-z]*$",  # the empty string matches; the `str` methods are false on it
    "^a|b$",
    "^[a-z0-9]{2}[0-9]$",  # overlapping classes
    "^[a-zé]{2}$",  # outside ASCII
    "^(?P<x>[0-9])$",
    "^(?:ab){2}$",
    "^[0-9]++$",
    "^[A-Z]{60}-[0-9]{4}$",  # a shape longer than the generated code holds
    "^\\d[0-9]$",
    "^ab[0-9]?$",
)
LOOKALIKES = "09azAZ-_. \n\t@٣٠۵５Ａｚß²İKǅ\x00\x7f\ud800"


def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(ecma_anchors(pattern))


def _bad(plan: FastPattern, text: str) -> bool:
    namespace: dict[str, Any] = {"s": text}
    if plan.table is not None:
        namespace["_T"] = bytes.maketrans(*plan.table)
    return bool(eval(" or ".join(plan.conditions("s", "_T")), namespace))


@st.composite
def near_misses(draw: st.DrawFn, pattern: str) -> str:
    """A match, then perhaps one character replaced, inserted or dropped."""
    text = draw(st.from_regex(_regex(pattern), fullmatch=True))
    how = draw(st.sampled_from(("keep", "replace", "insert", "drop")))
    if how == "keep" or (how != "insert" and not text):
        return text
    char = draw(st.sampled_from(LOOKALIKES) | st.characters())
    at = draw(st.integers(0, len(text) - (how != "insert")))
    if how == "replace":
        return text[:at] + char + text[at + 1 :]
    if how == "insert":
        return text[:at] + char + text[at:]
    return text[:at] + text[at + 1 :]


@pytest.mark.parametrize("pattern", SIMPLE)
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_str_tests_reject_exactly_what_the_regex_rejects(pattern: str, data: st.DataObject) -> None:
    plan = fast_pattern(ecma_anchors(pattern))
    assert plan is not None
    text = data.draw(near_misses(pattern) | st.text(alphabet=st.sampled_from(LOOKALIKES) | st.characters()))
    assert _bad(plan, text) == (_regex(pattern).search(text) is None), repr(text)


@pytest.mark.parametrize("pattern", SIMPLE)
def test_every_ascii_string_of_the_patterns_length_is_decided_alike(pattern: str) -> None:
    plan = fast_pattern(ecma_anchors(pattern))
    assert plan is not None
    regex = _regex(pattern)
    for code in range(128):
        for text in (chr(code) * 3, "ab" + chr(code), chr(code) + "Z9", "A" * 20 + chr(code), chr(code) * 5):
            assert _bad(plan, text) == (regex.search(text) is None), repr(text)


@pytest.mark.parametrize("pattern", KEPT)
def test_other_patterns_keep_their_regex(pattern: str) -> None:
    assert fast_pattern(ecma_anchors(pattern)) is None


def test_a_decimal_digit_is_what_re_reads_as_backslash_d() -> None:
    digit = re.compile(r"\d")
    assert all(bool(digit.fullmatch(chr(code))) == chr(code).isdecimal() for code in range(sys.maxunicode + 1))


def _decoders(gtypes: dict[str, GType]) -> ModuleType:
    out = Path(tempfile.mkdtemp(prefix="gati-pattern-"))
    for rel, data in emit_validators(gtypes, [], header="test").items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(data)
    name = f"_gati_pattern_{out.name}"
    spec = importlib.util.spec_from_file_location(name, out / "validators" / "__init__.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


CODES = ("^[A-Z]{3}-[0-9]{4}$", "^[0-9]{5}$", "^\\d{2,6}$")


@pytest.fixture(scope="module")
def decoders() -> ModuleType:
    fields = tuple(
        Property(name=f"f{n}", type=PrimitiveType(type="string", pattern=p, maxLength=7), required=True)
        for n, p in enumerate(CODES)
    )
    return _decoders({"Codes": ObjectType(name="Codes", properties=fields)})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_decoder_reports_the_issues_the_regex_decides(decoders: ModuleType, data: st.DataObject) -> None:
    value = {f"f{n}": data.draw(near_misses(p)) for n, p in enumerate(CODES)}
    expected = []
    for n, pattern in enumerate(CODES):
        text = value[f"f{n}"]
        if len(text) > 7:
            expected.append((f"$.f{n}", "max_length"))
        if _regex(pattern).search(text) is None:
            expected.append((f"$.f{n}", "pattern"))
    got = [(i.path, i.code) for i in decoders.validate("Codes", value)]
    assert got == expected
    if not expected:
        assert decoders.decode("Codes", value) == value
