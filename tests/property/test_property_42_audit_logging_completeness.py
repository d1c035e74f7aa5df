"""Property 42, audit logging completeness: every request leaves exactly one audit line (request
id as the client received it, handler, method, path, status, version, manifest hash), and every
sensitive access leaves one entry more: each secret read (`secret.access`, with its outcome) and
each refused module reach (`capability.refused`), both naming the request and the handler.

Generated sequences of requests over a real app (built by the compiler, served in-process) mix
answers that succeed, fail validation, miss every route, read a declared secret, try an
undeclared one and reach for a module the handler does not declare; the `gati.audit` records
are then matched against the model, request by request.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gati_runtime_min import GatiApp
from gati_runtime_min.testing import AppClient
from tests.apps import build_files

FILES = {
    "pyproject.toml": """
        [project]
        name = "audited"
        version = "0.1.0"

        [tool.gati]
        name = "audited"
        sources = ["audited"]

        [tool.gati.secrets]
        providers = ["env"]
        env_prefix = "P42_"
    """,
    "audited/__init__.py": "",
    "audited/handlers.py": """
        from typing import Annotated

        from annotated_types import Ge
        from typing_extensions import TypedDict

        from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get, module, post


        @module("vault")
        class Vault:
            async def peek(self) -> int:
                return 1


        class Item(TypedDict):
            qty: Annotated[int, Ge(1)]


        class Out(TypedDict):
            ok: bool


        @post("/items")
        async def add_item(req: Request[Item], res: Response[Out], lctx: LocalContext, gctx: GlobalContext) -> None:
            res.json({"ok": True})


        @get("/secret/{name}", secrets=["api_key"])
        async def read_secret(req: Request[None], res: Response[Out], lctx: LocalContext, gctx: GlobalContext) -> None:
            await gctx.secrets.get(req.params["name"])
            res.json({"ok": True})


        @get("/reach")
        async def reach(req: Request[None], res: Response[Out], lctx: LocalContext, gctx: GlobalContext) -> None:
            name = req.headers.get("x-module", "vault")
            await gctx.modules[name].peek()
            res.json({"ok": True})
    """,
}

# what a request does -> (method, path, body, headers, handler, status, secret outcome, refused)
KINDS: dict[str, tuple[str, str, Any, dict[str, str], str | None, int, str | None, bool]] = {
    "ok": ("POST", "/items", {"qty": 2}, {}, "add_item", 200, None, False),
    "invalid": ("POST", "/items", {"qty": 0}, {}, "add_item", 422, None, False),
    "unknown": ("GET", "/nowhere", None, {}, None, 404, None, False),
    "secret": ("GET", "/secret/api_key", None, {}, "read_secret", 200, "read", False),
    "undeclared": ("GET", "/secret/other_key", None, {}, "read_secret", 500, "refused", False),
    "refused": ("GET", "/reach", None, {"x-module": "vault"}, "reach", 500, None, True),
}


@functools.cache
def built() -> Path:
    return build_files(Path(tempfile.mkdtemp(prefix="gati-p42-")), FILES)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def audit_trail() -> Iterator[list[logging.LogRecord]]:
    logger = logging.getLogger("gati.audit")
    handler, level = _Records(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    os.environ["P42_API_KEY"] = "p42-value"
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        os.environ.pop("P42_API_KEY", None)


@settings(max_examples=25, deadline=None)
@given(kinds=st.lists(st.sampled_from(sorted(KINDS)), min_size=1, max_size=8))
def test_property_42_audit_logging_completeness(kinds: list[str]) -> None:
    app = GatiApp(built())

    async def main() -> list[tuple[str, int]]:
        out = []
        async with AppClient(app) as client:
            for kind in kinds:
                method, path, body, headers, *_ = KINDS[kind]
                # `/reach` asks for a module this handler does not declare
                r = await client.request(method, path, json=body, headers=headers)
                out.append((r.headers["x-request-id"], r.status_code))
        return out

    with audit_trail() as records:
        answers = asyncio.run(main())

    lines = [json.loads(r.getMessage()) for r in records if "event" not in getattr(r, "gati", {})]
    entries = [r.gati for r in records if "event" in getattr(r, "gati", {})]  # type: ignore[attr-defined]
    # exactly one line per request, in order, naming what the client was told
    assert [(line["requestId"], line["status"]) for line in lines] == answers
    for line, kind in zip(lines, kinds, strict=True):
        method, path, _, _, handler, status, _, _ = KINDS[kind]
        assert (line["method"], line["path"], line["handlerId"], line["status"]) == (method, path, handler, status)
        assert line["manifestHash"] == app.build.manifest_hash and "version" in line
    # one entry more per sensitive access, naming its request and handler
    want = []
    for (rid, _), kind in zip(answers, kinds, strict=True):
        _, _, _, _, handler, _, secret, refused = KINDS[kind]
        if secret is not None:
            want.append(("secret.access", rid, handler, secret))
        if refused:
            want.append(("capability.refused", rid, handler, "module:vault"))
    got = [(e["event"], e["requestId"], e["handlerId"], e.get("outcome") or e.get("capability")) for e in entries]
    assert got == want
    assert all("p42-value" not in r.getMessage() for r in records)
