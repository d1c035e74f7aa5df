"""Property 12, validation error structure: for any invalid value the generated validator reports
EVERY problem, each as an issue with a JSON path to the offending spot, a stable code, what was
expected, what came and a message; `decode` raises with the same issues, and the runtime's 422
answers them in order with the path moved under `$.body`.

Values start from a valid `Item` (tests/property/propapp.py) and get a random set of fields
broken in known ways, so the exact set of paths the issues must name is known.
"""

from __future__ import annotations

from typing import Any, Final

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gati_runtime_min.testing import AppClient
from tests.property.propapp import Served

CODES: Final = frozenset({"missing", "type", "min_length", "max_length", "minimum", "maximum", "literal"})

VALID_ITEM = st.fixed_dictionaries(
    {
        "name": st.text(min_size=1, max_size=20),
        "qty": st.integers(0, 1000),
        "kind": st.sampled_from(["a", "b"]),
        "tags": st.lists(st.text(max_size=5), max_size=4),
    },
    optional={"note": st.none() | st.text(max_size=5)},
)
# field -> wrong values (each yields one issue at `$.field`)
WRONG: Final[dict[str, list[Any]]] = {
    "name": ["", "x" * 21, 5, None, ["a"]],
    "qty": [-1, 1001, "3", True, 2.5, None],
    "kind": ["c", 1, None, "A"],
    "note": [5, [], {}],
}


@st.composite
def broken_items(draw: st.DrawFn) -> tuple[dict[str, Any], set[str]]:
    """A valid item with some fields broken; and the paths the issues must name."""
    doc: dict[str, Any] = dict(draw(VALID_ITEM))
    paths: set[str] = set()
    for field in draw(st.sets(st.sampled_from(sorted(WRONG)), min_size=0, max_size=len(WRONG))):
        if draw(st.booleans()) and field != "note":  # a missing required field
            del doc[field]
        else:
            doc[field] = draw(st.sampled_from(WRONG[field]))
        paths.add(f"$.{field}")
    if draw(st.booleans()) or not paths:  # wrong elements inside the list: one issue each
        tags: list[Any] = list(doc["tags"])
        bad = draw(st.lists(st.integers(0, len(tags)), min_size=1, max_size=3, unique=True))
        for index in sorted(bad):
            tags.insert(index, draw(st.sampled_from([0, None, 1.5, {}])))
        doc["tags"] = tags
        paths |= {f"$.tags[{i}]" for i, t in enumerate(tags) if not isinstance(t, str)}
    return doc, paths


@given(case=broken_items())
def test_property_12_validation_error_structure(served: Served, case: tuple[dict[str, Any], set[str]]) -> None:
    doc, paths = case
    validators = served.app.build.validators
    issues = validators.validate("Item", doc)
    assert {i.path for i in issues} == paths
    assert len(issues) == len(paths)
    for issue in issues:
        item = issue.to_json()
        assert set(item) == {"path", "code", "expected", "actual", "message"}
        assert item["code"] in CODES
        assert all(isinstance(v, str) and v for v in item.values())
    with pytest.raises(validators.DecodeError) as raised:
        validators.decode("Item", doc)
    assert raised.value.issues == issues

    async def go(client: AppClient) -> httpx.Response:
        return await client.post("/items", json=doc)

    r = served.run(go)
    assert r.status_code == 422
    answered = r.json()["error"]["issues"]
    assert answered == [{**i.to_json(), "path": "$.body" + i.path[1:]} for i in issues]
