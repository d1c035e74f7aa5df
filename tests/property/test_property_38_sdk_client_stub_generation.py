"""Property 38, SDK client stub generation: for generated apps, the generated Python SDK has one
method per handler, named after the handler id, taking the path parameters by name (typed by their
converters) and the body when the handler declares one; calling each method against the app served
in-process reaches that handler on the right concrete path and returns its typed answer, or raises
the SDK's typed error (`AuthenticationError` for a handler that requires roles).
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any, Final

import pytest
from hypothesis import given, settings

from gati_compiler.diagnostics.render import render_text
from gati_compiler.pipeline import build
from gati_runtime_min import GatiApp
from gati_runtime_min.testing import AppClient
from tests.property.handlergen import CONFIG, AppSpec, HandlerSpec, apps
from tests.unit.conftest import write_project

VALUES: Final[dict[str | None, tuple[Any, str]]] = {  # converter -> (SDK argument, path text)
    None: ("s x", "s x"),
    "str": ("é-1", "é-1"),
    "int": (-5, "-5"),
    "float": (1.5, "1.5"),
    "uuid": (uuid.UUID(int=7), str(uuid.UUID(int=7))),
    "date": (date(2024, 2, 29), "2024-02-29"),
    "path": ("a/b c", "a/b c"),
}


def call_of(h: HandlerSpec) -> tuple[dict[str, Any], str]:
    """Keyword arguments for the SDK method, and the path the handler must see."""
    kwargs: dict[str, Any] = {}
    parts: list[str] = []
    for s in h.segments:
        if isinstance(s, str):
            parts.append(s)
        else:
            value, text = VALUES[s[1]]
            kwargs[s[0]] = value
            parts.append(text)
    if h.body:
        kwargs["body"] = {"name": "n", "count": 1}
    return kwargs, "/" + "/".join(parts)


@contextmanager
def served_sdk(root: Path) -> Iterator[tuple[GatiApp, ModuleType]]:
    """The app built in `root`, loaded by `GatiApp`, and its generated Python SDK imported."""
    forget("app", "app_client")  # another test's `app` must not stand in for this one
    app = GatiApp(root / ".gati")
    sdk_root = str(root / ".gati" / "sdk" / "python")
    sys.path.insert(0, sdk_root)
    try:
        yield app, importlib.import_module("app_client")
    finally:
        sys.path.remove(sdk_root)
        while str(root) in sys.path:
            sys.path.remove(str(root))
        forget("app", "app_client")


def forget(*packages: str) -> None:
    for name in [m for m in sys.modules if m.split(".")[0] in packages]:
        del sys.modules[name]


@settings(max_examples=15)
@given(spec=apps())
def test_property_38_sdk_client_stub_generation(tmp_path_factory: Any, spec: AppSpec) -> None:
    root = write_project(tmp_path_factory.mktemp("p38"), spec.sources(), CONFIG)
    result = build(root, jobs=1)
    assert result.ok, render_text(result.diagnostics, result.sources)
    with served_sdk(root) as (app, sdk):

        async def scenario() -> None:
            async with AppClient(app) as http:
                client = sdk.AsyncClient("http://testserver", http_client=http, max_retries=0)
                for h in spec.handlers:
                    method = getattr(client, h.handler_id.replace(".", "_"))
                    kwargs, path = call_of(h)
                    assert set(inspect.signature(method).parameters) - {"request_options"} == set(kwargs)
                    if h.roles:
                        with pytest.raises(sdk.AuthenticationError):
                            await method(**kwargs)
                        continue
                    answer = await method(**kwargs)
                    if h.response:
                        assert answer == {"id": 0, "name": path}
                    else:
                        assert answer is None

        asyncio.run(scenario())
