"""Property 27, metadata availability: in every request `lctx.meta` holds the request id the
client receives in `x-request-id`, the path as requested, the resolved API version (none recorded
here, so None) and the flags (`head` true exactly for a HEAD request answered by the GET handler)."""

from __future__ import annotations

from urllib.parse import quote

import httpx
from hypothesis import given
from hypothesis import strategies as st

from gati_runtime_min.testing import AppClient
from tests.property.propapp import Served

SEGMENT = st.text(st.characters(codec="utf-8", exclude_characters="/"), min_size=1, max_size=12)


@given(key=SEGMENT, head=st.booleans())
def test_property_27_metadata_availability(served: Served, key: str, head: bool) -> None:
    url = "/meta/" + quote(key, safe="")

    async def go(client: AppClient) -> httpx.Response:
        return await (client.head(url) if head else client.get(url))

    r = served.run(go)
    assert r.status_code == 200
    rid = r.headers["x-request-id"]
    (seen,) = served.built.record()[rid]  # what the handler saw, recorded as it answered
    assert seen == {"request_id": rid, "path": "/meta/" + key, "version": None, "head": head}
    if head:
        assert r.content == b""
    else:
        assert r.json() == seen
