"""The differential counts apart only what pydantic's lazy `Iterable[X]` explains (lazy_iterables)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Required

from pydantic import BaseModel, Field, TypeAdapter
from typing_extensions import TypedDict

from tests.fidelity.lazy_iterables import iterates_text_or_object


class Part(TypedDict, total=False):
    text: Required[str]


class Message(TypedDict, total=False):
    content: Required[str | Iterable[Part]]
    parts: Iterable[Part] | None


class Envelope(BaseModel):
    items: list[Message] = []
    nested: Envelope | None = None
    by_alias: Iterable[int] | None = Field(default=None, alias="byAlias")


def walks(tp: Any, document: Any) -> bool:
    return iterates_text_or_object(TypeAdapter(tp), document)


def test_a_json_string_where_a_union_allows_an_iterable_is_the_documented_difference() -> None:
    assert walks(Message, {"content": "hello"})


def test_a_json_object_given_to_an_iterable_is_the_documented_difference() -> None:
    assert walks(Message, {"content": [], "parts": {"text": "x"}})


def test_arrays_of_valid_items_are_not_put_down_to_iterables() -> None:
    assert not walks(Message, {"content": [{"text": "a"}], "parts": None})


def test_the_walk_follows_models_lists_references_and_aliases() -> None:
    assert walks(Envelope, {"items": [{"content": [{"text": "a"}]}, {"content": "text"}]})
    assert walks(Envelope, {"nested": {"nested": {"items": [{"content": "deep"}]}}})
    assert walks(Envelope, {"byAlias": "123"})
    assert not walks(Envelope, {"by_alias": "123"})  # not the JSON key pydantic reads
    assert not walks(Envelope, {"nested": {"items": [{"content": [{"text": "a"}]}]}})


def test_types_without_iterables_never_excuse_a_disagreement() -> None:
    assert not walks(dict[str, list[str]], {"a": ["b"]})
    assert not walks(str | list[int], "text")
