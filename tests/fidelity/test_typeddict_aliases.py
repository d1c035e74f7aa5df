"""A TypedDict field with an alias: decoded under its field name, as pydantic gives it and as the
TypedDict declares it; encoded from either its Python form (field names) or its JSON form (aliases)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from gati_compiler.emit.sdk_python import emit_python_sdk
from tests.fidelity.built import built

MODELS = """
from typing import Annotated
from typing_extensions import NotRequired, TypedDict
from pydantic import Field

class Person(TypedDict):
    first_name: Annotated[str, Field(alias="firstName")]
    last_seen: NotRequired[Annotated[int, Field(alias="lastSeen")]]
    age: int

class Team(TypedDict):
    lead: Person
    members: list[Person]
"""

DOCS: list[Any] = [
    {"firstName": "Ada", "age": 36},
    {"firstName": "Ada", "lastSeen": 5, "age": 36},
    {"first_name": "Ada", "age": 36},
    {"firstName": "Ada", "age": 36, "first_name": "Bo"},
    {"lead": {"firstName": "Ada", "age": 36}, "members": [{"firstName": "Bo", "lastSeen": 1, "age": 2}]},
    {"lead": {"first_name": "Ada", "age": 36}, "members": []},
]


@pytest.mark.parametrize("doc", DOCS)
def test_decoded_typeddict_is_keyed_by_field_names_as_pydantic_gives_it(tmp_path: Path, doc: Any) -> None:
    with built(tmp_path, MODELS, ["Person", "Team"]) as b:
        name = "Team" if "lead" in doc else "Person"
        ours, theirs = b.ours(name, doc), b.theirs(name, doc)
        assert ours[0] == theirs[0], (doc, ours, theirs)
        if ours[0]:
            assert ours[1] == theirs[1]


def test_the_encoder_takes_the_python_form_and_the_json_form_and_writes_aliases(tmp_path: Path) -> None:
    with built(tmp_path, MODELS, ["Person", "Team"]) as b:
        v, person, team = b.validators, b.ref("Person"), b.ref("Team")
        wire = {"firstName": "Ada", "lastSeen": 5, "age": 36}
        assert v.encode(person, {"first_name": "Ada", "last_seen": 5, "age": 36}) == wire
        assert v.encode(person, wire) == wire
        nested = {"lead": {"first_name": "Ada", "age": 36}, "members": [{"firstName": "Bo", "age": 2}]}
        assert v.encode(team, nested) == {
            "lead": {"firstName": "Ada", "age": 36},
            "members": [{"firstName": "Bo", "age": 2}],
        }
        with pytest.raises(v.DecodeError) as caught:
            v.encode(person, {"age": 36})
        assert [(i.path, i.code) for i in caught.value.issues] == [("$.firstName", "missing")]
        # what the decoder gives back encodes to the same JSON
        assert v.encode(person, v.decode(person, wire)) == wire


def test_the_python_sdk_keeps_wire_names_for_its_own_typeddicts(tmp_path: Path) -> None:
    with built(tmp_path, MODELS, ["Person"]) as b:
        assert b.result.program is not None
        ref = b.ref("Person")
        files = emit_python_sdk(b.result.program, header="test")
        models = next(data for rel, data in files.items() if rel.endswith("/models.py")).decode()
        assert "    firstName: str\n" in models  # the SDK's TypedDict is keyed by wire names
        init = next(rel for rel in files if rel.endswith("/_validators/__init__.py"))
        target = tmp_path / "sdk" / init
        target.parent.mkdir(parents=True)
        target.write_bytes(files[init])
        spec = importlib.util.spec_from_file_location("sdk_alias_validators", target)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert module.decode(ref, {"firstName": "Ada", "age": 36}) == {"firstName": "Ada", "age": 36}
