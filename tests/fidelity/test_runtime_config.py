"""A `__pydantic_config__` attached at run time is the documented difference (docs/pydantic.md):
the differential counts a disagreement apart only when pydantic without it agrees with gati."""

from __future__ import annotations

from pathlib import Path

from pydantic import TypeAdapter

from tests.fidelity.built import built
from tests.fidelity.differential import compare
from tests.fidelity.runtime_config import adapter_as_read, runtime_configured

MODELS = """
from typing import Any
from typing_extensions import TypedDict

def set_config(cls: Any, config: Any) -> None:
    setattr(cls, "__pydantic_config__", config)

class Schema(TypedDict):
    type: str

set_config(Schema, {"extra": "allow"})
"""


def test_extra_keys_kept_by_a_run_time_config_are_the_documented_difference(tmp_path: Path) -> None:
    with built(tmp_path, MODELS, ["Schema"]) as app:
        program = app.result.program
        assert program is not None
        ref = app.ref("Schema")
        classes = runtime_configured(program, {ref})
        assert classes == [app.models.Schema]
        doc = {"type": "object", "properties": {}}
        adapter: TypeAdapter[object] = TypeAdapter(app.models.Schema)
        assert compare(app.validators, ref, adapter, doc) == "both accept, values differ"
        as_read = adapter_as_read(app.models.Schema, classes)
        assert as_read is not None and compare(app.validators, ref, as_read, doc) is None
        assert app.models.Schema.__pydantic_config__ == {"extra": "allow"}  # put back
