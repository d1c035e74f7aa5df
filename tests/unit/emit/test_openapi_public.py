"""The public OpenAPI document, built from real source: what tools and people read in it.

`info.version` is the app's own; fields a dataclass or model always sends are required in
response schemas (a component used both ways gets an `...Output` twin); date and time formats
carry no generated patterns; codes set with `res.status(<literal>)` are documented; a field's
description reaches the Python SDK.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from openapi_spec_validator import validate

from gati_compiler.ir.jsonschema import FORMAT_PATTERNS
from gati_compiler.pipeline import build

MODELS = """
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, TypedDict
from uuid import UUID

from annotated_types import MaxLen
from pydantic import BaseModel, Field


@dataclass
class Note:
    text: str
    pinned: bool = False
    tags: list[str] = field(default_factory=list)


class Event(BaseModel):
    id: UUID
    at: datetime
    day: date
    title: Annotated[str, Field(description="Shown in the calendar")] = "untitled"
    note: Note | None = None


class NewEvent(TypedDict):
    day: date
    code: Annotated[str, MaxLen(8)]
"""

HANDLERS = """
from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get, post
from models import Event, NewEvent, Note


@post("/events", summary="Create an event")
async def create_event(req: Request[NewEvent], res: Response[Event], lctx: LocalContext, gctx: GlobalContext) -> None:
    if req.body["code"] == "x":
        res.status(409).json(None)
        return
    res.status(201).json(None)


@get("/events/latest")
async def latest(req: Request[None], res: Response[Event], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.status(200).json(None)


@post("/notes/echo")
async def echo_note(req: Request[Note], res: Response[Note], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json(req.body)
"""


def openapi(tmp_path: Path, version: str | None = '"2.3.4"') -> tuple[dict[str, Any], dict[str, bytes]]:
    project = ["[project]", 'name = "cal"'] + ([f"version = {version}"] if version else [])
    (tmp_path / "pyproject.toml").write_text("\n".join([*project, "", "[tool.gati]", 'name = "cal"', ""]))
    (tmp_path / "models.py").write_text(MODELS, encoding="utf-8")
    (tmp_path / "handlers.py").write_text(HANDLERS, encoding="utf-8")
    result = build(tmp_path, write=False, jobs=1)
    assert result.ok, [d.message for d in result.diagnostics]
    doc = json.loads(result.artifacts["openapi.json"])
    validate(doc)
    return doc, result.artifacts


def test_info_version_is_the_apps_own(tmp_path: Path) -> None:
    doc, _ = openapi(tmp_path)
    assert doc["info"]["version"] == "2.3.4"


def test_info_version_without_a_project_version(tmp_path: Path) -> None:
    doc, _ = openapi(tmp_path, version=None)
    assert doc["info"]["version"] == "current"


def test_response_schemas_require_fields_that_are_always_sent(tmp_path: Path) -> None:
    doc, _ = openapi(tmp_path)
    schemas = doc["components"]["schemas"]
    # Event is only ever sent: its defaulted fields are required in place
    assert set(schemas["Event"]["required"]) == {"id", "at", "day", "title", "note"}
    # Note is both received and sent: the input keeps its defaults optional, the output twin not
    assert schemas["Note"]["required"] == ["text"]
    assert set(schemas["NoteOutput"]["required"]) == {"text", "pinned", "tags"}
    echo = doc["paths"]["/notes/echo"]["post"]
    assert echo["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Note"}
    out = echo["responses"]["200"]["content"]["application/json"]["schema"]
    assert out == {"$ref": "#/components/schemas/NoteOutput"}
    # Event's `note` field points at the output twin too
    note = json.dumps(schemas["Event"]["properties"]["note"])
    assert "NoteOutput" in note


def test_date_and_time_formats_carry_no_generated_patterns(tmp_path: Path) -> None:
    doc, _ = openapi(tmp_path)
    text = json.dumps(doc)
    schemas = doc["components"]["schemas"]
    event = schemas["Event"]["properties"]
    # looser than its standard format in the decoders: the exact pattern once, in a named component
    assert event["at"] == {"$ref": "#/components/schemas/GatiDateTime"}
    assert event["id"] == {"$ref": "#/components/schemas/GatiUuid"}
    assert schemas["GatiDateTime"]["pattern"] == FORMAT_PATTERNS["date-time"]
    assert schemas["GatiDateTime"]["description"] and schemas["GatiDateTime"]["examples"]
    # exactly its standard format: the format alone
    assert event["day"] == {"format": "date", "type": "string"}
    long_ones = [p for p in _patterns(doc) if len(p) >= 200]
    assert sorted(long_ones) == sorted({FORMAT_PATTERNS["date-time"], FORMAT_PATTERNS["uuid"]})  # each once
    assert '"maxLength": 8' in text  # user constraints stay


def _patterns(value: Any) -> list[str]:
    if isinstance(value, dict):
        own = [value["pattern"]] if isinstance(value.get("pattern"), str) else []
        return own + [p for item in value.values() for p in _patterns(item)]
    if isinstance(value, list):
        return [p for item in value for p in _patterns(item)]
    return []


def test_statuses_set_with_res_status_are_documented(tmp_path: Path) -> None:
    doc, artifacts = openapi(tmp_path)
    responses = doc["paths"]["/events"]["post"]["responses"]
    assert {"200", "201", "409"} <= set(responses)
    assert responses["201"]["content"] == responses["200"]["content"]
    assert responses["409"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    manifest = json.loads(artifacts["handlers/create_event.json"])
    assert manifest["otherStatuses"] == [201, 409]
    latest = json.loads(artifacts["handlers/latest.json"])
    assert latest["otherStatuses"] == []  # 200 is the declared status already


def test_field_descriptions_reach_the_python_sdk(tmp_path: Path) -> None:
    _, artifacts = openapi(tmp_path)
    models = next(data.decode() for rel, data in artifacts.items() if rel.endswith("_client/models.py"))
    assert '    title: str\n    """Shown in the calendar"""\n' in models
    # always sent: not NotRequired in the SDK either
    assert "    pinned: typing.NotRequired[bool]" in models  # Note is an input too
    assert "    note: Note | None\n" in models  # Event is only sent: `note` is always there
