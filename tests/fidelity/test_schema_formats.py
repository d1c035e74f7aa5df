"""The emitted schema accepts what the decoder accepts, with format assertions on (as schemathesis
checks): no standard `format` stricter than the decoder, no pattern looser (issue 11, item 4)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fidelity.built import built

MODELS = """
from datetime import date, datetime, time, timedelta
from uuid import UUID
from typing_extensions import TypedDict

class Stamps(TypedDict):
    at: datetime
    day: date
    clock: time
    span: timedelta
    id: UUID
"""

GOOD = {
    "at": "2026-01-02T03:04:05Z",
    "day": "2026-01-02",
    "clock": "03:04:05+01:00",
    "span": "P1D",
    "id": "12345678-1234-5678-1234-567812345678",
}
# strings pydantic strict (and so the decoder) takes that RFC 3339 / RFC 4122 formats refuse,
# and strings nobody takes
CASES: list[tuple[str, str]] = [
    ("at", "0001-01-01T00:00"),
    ("at", "2026-01-02 03:04:05"),
    ("at", "2026-01-02T03:04:05.123456+05:30"),
    ("at", "1700000000"),
    ("at", "2026-13-02T03:04:05Z"),
    ("at", "yesterday"),
    ("day", "2026-01-02"),
    ("day", "2026-02-30"),
    ("clock", "12:30"),
    ("clock", "12:30:15.5"),
    ("clock", "25:00"),
    ("span", "1 day, 10:00"),
    ("span", "-P1DT2H"),
    ("span", "10:00:00"),
    ("span", "P"),
    ("id", "12345678123456781234567812345678"),
    ("id", "urn:uuid:12345678-1234-5678-1234-567812345678"),
    ("id", "{12345678-1234-5678-1234-567812345678}"),
    ("id", "1234"),
]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with built(tmp_path_factory.mktemp("fmt"), MODELS, ["Stamps"]) as b:
        yield b


@pytest.mark.parametrize(("field", "text"), CASES)
def test_schema_decoder_and_pydantic_agree_on_temporal_and_uuid_strings(app: Any, field: str, text: str) -> None:
    doc = {**GOOD, field: text}
    ours_ok, ours = app.ours("Stamps", doc)
    theirs_ok, theirs = app.theirs("Stamps", doc)
    assert ours_ok == theirs_ok, (ours, theirs)
    assert app.schema_ok("Stamps", doc) == ours_ok


def test_no_standard_format_is_asserted_where_the_decoder_is_looser(app: Any) -> None:
    from gati_compiler.ir.gtype import RefType
    from gati_compiler.ir.jsonschema import gtypes_json_schema

    schema: Any = gtypes_json_schema(app.result.program.gtypes, RefType(ref=app.ref("Stamps")))
    props = schema["$defs"][app.ref("Stamps")]["properties"]
    # `date` keeps RFC 3339 full-date, exactly its ISO pattern (docs/build-format.md, section 4)
    assert {name: p.get("format") for name, p in props.items()} == {**dict.fromkeys(GOOD), "day": "date"}
    assert {name: p.get("x-gati-format") for name, p in props.items()} == {
        "at": "date-time",
        "day": None,
        "clock": "time",
        "span": "duration",
        "id": "uuid",
    }
