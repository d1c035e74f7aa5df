"""Property 11, response validation: a 2xx body leaves the app only if it is valid for the declared
response type. The `/echo` handler answers whatever JSON it is sent as its `Item` response; the
oracle is `jsonschema` on Item's schema. A valid body is answered 200 as the encoder writes it
(unknown keys dropped); an invalid one is a bare 500 (GATI501) that does not leak the body.

The encoder checks the handler's Python value, so a float where `int` is declared is invalid even
when it is integral (`3.0`): the JSON rule that accepts `3.0` as an int applies to what clients
send, not to what handlers return.
"""

from __future__ import annotations

import httpx
import jsonschema
from hypothesis import given
from hypothesis import strategies as st

from gati_runtime_min.testing import AppClient
from tests.property.propapp import Served
from tests.property.test_property_10_request_validation import decoded, documents, item_schema


@given(data=st.data())
def test_property_11_response_validation(served: Served, data: st.DataObject) -> None:
    schema = item_schema(served)
    doc = data.draw(documents(schema))
    valid = jsonschema.Draft202012Validator(schema).is_valid(doc)
    if isinstance(doc, dict) and isinstance(doc.get("qty"), float):  # Item's one int field
        valid = False

    async def go(client: AppClient) -> httpx.Response:
        return await client.post("/echo", json=doc)

    r = served.run(go)
    if valid:
        assert r.status_code == 200, (doc, r.text)
        assert r.json() == decoded(doc)
    else:
        assert r.status_code == 500, (doc, r.text)
        error = r.json()["error"]
        assert error["code"] == "GATI501" and "issues" not in error
