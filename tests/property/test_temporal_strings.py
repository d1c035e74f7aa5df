"""Date, date-time and duration strings: the decoders accept exactly what pydantic (strict JSON
mode) accepts, with the same value, and the emitted JSON Schema pattern agrees.

Besides ISO 8601, pydantic reads a numeric string as a unix timestamp for `datetime` (and for
`date` when it falls on a midnight) and takes `1 day, 12:00:00` and `12:00` style durations.
The one stated exception: a `date` schema keeps to ISO dates, since "a multiple of 86400" has
no pattern (the schema accepts less than the decoder, never more).
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from gati_compiler.emit.validators import emit_validators
from gati_compiler.ir.gtype import GType, PrimitiveType
from gati_compiler.ir.jsonschema import FORMAT_PATTERNS

GTYPES: dict[str, GType] = {
    "DateTime": PrimitiveType(type="string", format="date-time"),
    "Date": PrimitiveType(type="string", format="date"),
    "Duration": PrimitiveType(type="string", format="duration"),
}
ADAPTERS: dict[str, TypeAdapter[Any]] = {
    "DateTime": TypeAdapter(datetime),
    "Date": TypeAdapter(date),
    "Duration": TypeAdapter(timedelta),
}
SCHEMA_FORMAT = {"DateTime": "date-time", "Date": "date", "Duration": "duration"}

# what probing pydantic showed, both sides of each rule
EXAMPLES = [
    *["1700000000", "-1.5", ".5", "+.5", "-.5", "1.", "0", "-0", "00", "+1", "20240101", "1700000000.123456789"],
    *["20000000000", "20000000001", "-20000000001", "20000000000.5", "19999999999.9999999", ".0000005"],
    *[".0000025", "-.0000005", "-0.0000015", "1.00000049", "0000000000000000000000001", "1111111111111111111"],
    *["99999999999999999999", "-99999999999999", "253402300799999.9994", "253402300799999.9995"],
    *["-62135596800000.0005", "-62135596800000.0006", ".", "1e3", "1_0", " 1", "1 ", "0x10", "1700000000,5"],
    *["86400", "-86400", "86400.0", "864000000000", "172800", "253402214400", "-62135596800000"],
    *["12:00", "1:00", "0:00", "12:00:01", "-12:00", "+12:00", "100:00", "24:00", "12:60", "12:00:60"],
    *["01:02:03.5", "12:00:00,5", "00:00:00.", "00:00:00.1234565", "1:00:00", "1:0:00", "001:00", "123:45"],
    *["1 day", "2 days", "1 Days", "1 DAY", "1 dAYS", "1 DAys", "1 daY", "1 dayS", "1 D", "1d", "1day", "1  day"],
    *["1 day, 12:00:00", "1 day 12:00", "1 day,12:00", "1d12:00", "1 day12:00", "1 day ,12:00", "1 day,", "1 day "],
    *["1 day, ", "1 day,,", " 1 day", "1 day 1:00", "1 day 1:00:00", "1 day 001:00", "1 day 24:00", "1 day 12"],
    *["-1 day, 12:00", "1 day, -12:00", "- 1 day", "1.5 days", "1 week", "999999999 days", "1000000000 days"],
    *["999999999 days, 23:59:59.999999", "999999999 days, 24:00:00", "P1D", "-P1D", "PT1H", "P1W", "p1d"],
    *["2024-01-01T00:00:00Z", "2024-01-01", "2024-02-30", "2024-01-01 12:00", "12:00:00.0000009"],
]

# where a float's precision decides: the last millisecond of 9999 and the first of year 1
BOUNDARIES = [
    f"{stem}.{fraction}"
    for stem in ("253402300799999", "-62135596800000")
    for fraction in ("", "0", "0005", "0039", "00390625", "0039063", "0078", "5", "96875", "984374", "984375", "99")
]


@pytest.fixture(scope="module")
def validators(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    out = tmp_path_factory.mktemp("temporal")
    for rel, data in emit_validators(GTYPES, [], header="test").items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(data)
    spec = importlib.util.spec_from_file_location("_gati_temporal_validators", Path(out / "validators/__init__.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _pydantic(ref: str, text: str) -> tuple[bool, Any]:
    try:
        return True, ADAPTERS[ref].validate_json(json.dumps(text), strict=True)
    except ValidationError:
        return False, None
    except OverflowError:  # pydantic fails this way past timedelta's range (-999999999 days, -1 s)
        assume(False)
        raise


def _agree(module: ModuleType, ref: str, text: str) -> None:
    theirs_ok, theirs = _pydantic(ref, text)
    issues = module.validate(ref, text)
    assert (not issues) == theirs_ok, f"{ref} {text!r}: pydantic {theirs_ok}, decoder {issues}"
    if theirs_ok:
        ours = module.decode(ref, text)
        assert ours == theirs, f"{ref} {text!r}: decoded {ours!r}, pydantic {theirs!r}"
        if isinstance(ours, datetime):
            assert ours.utcoffset() == theirs.utcoffset()
    schema_ok = re.fullmatch(FORMAT_PATTERNS[SCHEMA_FORMAT[ref]], text) is not None
    if ref == "Date" and theirs_ok and not schema_ok:
        assert re.fullmatch(r"[+-]?[0-9]+", text), f"{text!r}: only integer timestamps may pass the decoder alone"
    else:
        assert schema_ok == theirs_ok, f"{ref} {text!r}: schema {schema_ok}, pydantic {theirs_ok}"


@pytest.mark.parametrize("text", EXAMPLES + BOUNDARIES)
@pytest.mark.parametrize("ref", sorted(GTYPES))
def test_examples_agree_with_pydantic_and_the_schema(validators: ModuleType, ref: str, text: str) -> None:
    _agree(validators, ref, text)


_digits = st.text(alphabet="0123456789", max_size=16)
_numbers = st.builds(
    lambda sign, whole, point, fraction: sign + whole + point + fraction,
    st.sampled_from(["", "+", "-"]),
    _digits,
    st.sampled_from(["", "."]),
    st.text(alphabet="0123456789", max_size=10),
)
_clock = st.builds(
    lambda hours, minutes, seconds, fraction: f"{hours}:{minutes}" + (f":{seconds}{fraction}" if seconds else ""),
    st.text(alphabet="0123456789", min_size=1, max_size=12),
    st.text(alphabet="0123456789", min_size=1, max_size=3),
    st.one_of(st.just(""), st.text(alphabet="0123456789", min_size=1, max_size=3)),
    st.one_of(st.just(""), st.builds(lambda sep, f: sep + f, st.sampled_from([".", ","]), _digits)),
)
_days = st.builds(
    lambda sign, days, space, ident, sep, clock: f"{sign}{days}{space}{ident}{sep}{clock}",
    st.sampled_from(["", "+", "-"]),
    st.text(alphabet="0123456789", min_size=1, max_size=11),
    st.sampled_from(["", " ", "  "]),
    st.sampled_from(["d", "D", "day", "days", "Day", "DAYS", "dAY", "daY", "DAys", "week"]),
    st.sampled_from(["", ",", ", ", " ", ",,", " ,"]),
    st.one_of(st.just(""), _clock),
)
_part = st.one_of(
    st.just(""),
    st.builds(
        lambda n, unit: n + unit, st.text(alphabet="0123456789", min_size=1, max_size=6), st.sampled_from("YMWDHS")
    ),
)
_iso = st.builds(
    lambda sign, date_parts, time_parts, seconds: (
        sign + "P" + "".join(date_parts) + (("T" + "".join(time_parts) + seconds) if time_parts or seconds else "")
    ),
    st.sampled_from(["", "+", "-"]),
    st.lists(_part, max_size=4),
    st.lists(_part, max_size=3),
    st.one_of(st.just(""), st.builds(lambda a, b: f"{a}.{b}S", _digits, _digits)),
)
_soup = st.text(alphabet="0123456789:.,+- dDayYsSPTHMWZ", max_size=18)
strings = st.one_of(
    _numbers, _clock, st.builds(lambda sign, c: sign + c, st.sampled_from(["", "+", "-"]), _clock), _days, _soup
)


@given(text=strings)
def test_generated_strings_agree_with_pydantic_and_the_schema(validators: ModuleType, text: str) -> None:
    for ref in sorted(GTYPES):
        _agree(validators, ref, text)
