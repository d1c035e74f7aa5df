"""`replay.outgoing`: which parts of a recorded request are sent again, and how."""

from __future__ import annotations

from typing import Any

import pytest

from gati_runtime_min.playground.replay import Answer, ReplayError, outgoing
from gati_runtime_min.playground.trace import Trace


def recorded(body: Any, query: str = "", headers: list[tuple[str, str]] | None = None) -> Trace:
    trace = Trace("POST", "/users", query, 0.0, 0.0, "a" * 32)
    trace.request_id = "01REC"
    trace.body = body
    trace.headers = headers or []
    return trace


def test_the_version_connection_and_run_headers_are_not_sent_again_and_redacted_ones_are_noted() -> None:
    trace = recorded(
        {"name": "Ada"},
        "version=v1&dry=1",
        [
            ("host", "127.0.0.1:8000"),
            ("x-gati-version", "v1"),
            ("x-request-id", "01OLD"),
            ("traceparent", "00-" + "a" * 32 + "-" + "b" * 16 + "-01"),
            ("x-api-key", "[redacted]"),
            ("accept", "application/json"),
        ],
    )
    sent = outgoing(trace)
    assert sent.query == "dry=1"  # `version=` is replay's to choose
    assert sent.headers == [("accept", "application/json"), ("content-type", "application/json")]
    assert sent.body == b'{"name":"Ada"}'
    assert sent.notes == ["header x-api-key was redacted when recorded and is not sent"]
    given = outgoing(trace, {"X-Api-Key": "k1"})
    assert ("x-api-key", "k1") in given.headers and given.notes == []


def test_a_text_body_is_sent_as_text_and_a_cut_one_cannot_be_sent() -> None:
    text = outgoing(recorded({"$text": "a=1"}, headers=[("content-type", "text/plain")]))
    assert text.body == b"a=1" and text.headers == [("content-type", "text/plain")]
    assert outgoing(recorded(None)).body is None
    with pytest.raises(ReplayError) as caught:
        outgoing(recorded({"$truncated": 70000, "$text": "{"}))
    assert caught.value.code == "GATI554" and "70000 bytes" in caught.value.message


def test_an_answer_is_compared_by_status_versioning_headers_and_body_without_its_request_id() -> None:
    answer = Answer(
        404,
        [("content-type", "application/json"), ("x-request-id", "01A"), ("sunset", "Wed, 30 Jun 2027 00:00:00 GMT")],
        {"error": {"code": "book_not_found", "requestId": "01A", "id": 3}},
    )
    assert answer.compared(frozenset({"id"})) == {
        "status": 404,
        "headers": {"content-type": "application/json", "sunset": "Wed, 30 Jun 2027 00:00:00 GMT"},
        "body": {"error": {"code": "book_not_found"}},
    }
