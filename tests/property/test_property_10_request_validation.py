"""Property 10, request validation: the app runs a handler only on a body its declared type accepts.

Bodies are drawn from the JSON Schema of the type (valid) and mutated (mostly invalid); the oracle
is `jsonschema` on that schema. An accepted body reaches the handler decoded (an integral float as
an int, unknown keys dropped); a rejected one is a 422 (GATI511) listing issues under `$.body`, and
the handler never ran for it.
"""

from __future__ import annotations

from typing import Any, Final, cast

import httpx
import jsonschema
from hypothesis import given
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from gati_compiler.ir.gtype import RefType
from gati_compiler.ir.jsonschema import gtypes_json_schema
from gati_runtime_min.testing import AppClient
from tests.property.propapp import Served
from tests.property.test_decoder_differential import _draft7, _ints, _mutate

ITEM_KEYS: Final = ("name", "qty", "kind", "tags", "note")


def item_schema(served: Served) -> dict[str, Any]:
    return cast(dict[str, Any], gtypes_json_schema(served.built.gtypes, RefType(ref="Item")))


def documents(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Valid documents of `schema` and one-spot mutations of them."""
    valid = from_schema(_draft7(schema, cast(dict[str, Any], schema["$defs"])))

    @st.composite
    def draw(draw: st.DrawFn) -> Any:
        doc = draw(valid)
        return _mutate(draw, doc) if draw(st.booleans()) else doc

    return draw()


def decoded(doc: dict[str, Any]) -> dict[str, Any]:
    """What the handler gets for an accepted `doc`."""
    return {k: _ints(v) for k, v in doc.items() if k in ITEM_KEYS}


@given(data=st.data())
def test_property_10_request_validation(served: Served, data: st.DataObject) -> None:
    schema = item_schema(served)
    doc = data.draw(documents(schema))
    valid = jsonschema.Draft202012Validator(schema).is_valid(doc)

    async def go(client: AppClient) -> httpx.Response:
        return await client.post("/items", json=doc)

    r = served.run(go)
    ran = "handler" in served.built.record().get(r.headers["x-request-id"], [])
    if valid:
        assert r.status_code == 201, r.text
        assert r.json() == decoded(doc)
        assert ran
    else:
        assert r.status_code == 422, (doc, r.text)
        error = r.json()["error"]
        assert error["code"] == "GATI511"
        assert error["issues"] and all(i["path"].startswith("$.body") for i in error["issues"])
        assert not ran
