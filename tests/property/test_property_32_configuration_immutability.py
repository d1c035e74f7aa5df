"""Property 32, configuration immutability: `gctx.config` is a deep read-only copy of the app's
configuration: equal to it (arrays as tuples), every mapping at every depth refuses assignment and
deletion, and changing the source afterwards does not reach it. The served app's `gctx.config`
(from `[tool.gati.config]` of the build) is read-only the same way."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gati_runtime_min.context import GlobalContext
from tests.property.propapp import Served

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=12,
)
CONFIG = st.dictionaries(st.text(max_size=4), JSON, max_size=5)


def thawed(value: Any) -> Any:
    """What the config should equal: the source with lists as tuples."""
    if isinstance(value, dict):
        return {k: thawed(v) for k, v in value.items()}
    if isinstance(value, list):
        return tuple(thawed(v) for v in value)
    return value


def mappings(value: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(value, Mapping):
        yield value
        for v in value.values():
            yield from mappings(v)
    elif isinstance(value, tuple):
        for v in value:
            yield from mappings(v)


def assert_read_only(config: Mapping[str, Any]) -> None:
    for mapping in mappings(config):
        with pytest.raises(TypeError):
            mapping["new key"] = 1  # type: ignore[index]
        for key in list(mapping):
            with pytest.raises(TypeError):
                del mapping[key]  # type: ignore[attr-defined]
        assert not hasattr(mapping, "update")


@given(config=CONFIG)
def test_property_32_configuration_immutability(served: Served, config: dict[str, Any]) -> None:
    expected = thawed(config)
    gctx = GlobalContext(config=config)
    assert dict(gctx.config) == expected
    assert_read_only(gctx.config)
    for value in list(config.values()):  # change the source in place: the config keeps its copy
        if isinstance(value, list):
            value.append("changed")
        elif isinstance(value, dict):
            value["changed"] = True
    config["added later"] = 1
    assert dict(gctx.config) == expected
    assert dict(served.app.gctx.config) == {"greeting": "hi"}
    assert_read_only(served.app.gctx.config)
