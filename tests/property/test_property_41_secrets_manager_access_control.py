"""Property 41, secrets manager access control: for generated apps (handlers with random
`secrets=[...]`, built by the real compiler, the values in a vault-style provider) and generated
requests that read random names in order, a read of a declared name gives its value, and the
first undeclared one ends the request with a 500 GATI545. Every read and every refusal is one
`secret.access` entry on `gati.audit` with the request id, handler id, name and outcome. The
values never show: not in any log record (every logger, at DEBUG, message and fields), not in
`lctx.snapshot()`, not in `repr`, not in any answer, including error answers built from them.
An in-process module (`reader`, given its own `gctx`) reads exactly the names its random
`secret:<name>` capabilities list, audited with its `moduleId` in the request of its handler.

The names come from a request header, so the compiler's check (GATI330) cannot see them: the
runtime's check alone decides.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gati_compiler.diagnostics.render import render_text
from gati_compiler.pipeline import build
from gati_runtime_min import GatiApp
from gati_runtime_min.testing import AppClient
from tests.property.propapp import BuiltApp
from tests.unit.conftest import write_project

NAMES = ("db_password", "stripe_key", "api.token", "smtp-pass")


@dataclass(frozen=True)
class SecretsSpec:
    values: dict[str, str]
    declared: tuple[frozenset[str], ...]  # handler j declares these names
    module_caps: frozenset[str]  # the in-process module `reader` has `secret:<name>` for these
    requests: tuple[tuple[int, tuple[str, ...], str], ...]  # (handler, names read in order, "" / "http" / "crash")


@st.composite
def secrets_specs(draw: st.DrawFn) -> SecretsSpec:
    values = {n: "sv_" + draw(st.binary(min_size=8, max_size=8)).hex() for n in NAMES}
    declared = tuple(draw(st.lists(st.frozensets(st.sampled_from(NAMES)), min_size=1, max_size=3)))
    module_caps = draw(st.frozensets(st.sampled_from(NAMES)))
    request = st.tuples(
        st.integers(-1, len(declared) - 1),  # -1: the handler `m`, whose module `reader` reads the names
        st.lists(st.sampled_from(NAMES), max_size=4).map(tuple),
        st.sampled_from(["", "http", "crash"]),
    )
    return SecretsSpec(values, declared, module_caps, tuple(draw(st.lists(request, min_size=1, max_size=8))))


HEAD = """
import hashlib
from typing import Any

from typing_extensions import TypedDict

from gati_runtime_min import GlobalContext, HTTPError, LocalContext, Request, Response, get


class Read(TypedDict):
    digests: list[str]
    repr: str
    snapshot: str
"""

HANDLER = """

@get("/s{j}", secrets=[{listed}])
async def s{j}(req: Request[None], res: Response[Read], lctx: LocalContext, gctx: GlobalContext) -> None:
    got: list[Any] = []
    for name in [n for n in req.headers["x-secrets"].split(",") if n]:
        key = await gctx.secrets.get(name)
        lctx.set(name, key)
        lctx.log("read a secret", name=name, key=key)
        got.append(key)
    if req.headers.get("x-fail") == "http":
        raise HTTPError(502, "upstream", f"upstream refused {{got}}")
    if req.headers.get("x-fail") == "crash":
        raise RuntimeError(f"could not connect with {{got}} {{[str(k) for k in got]}}")
    res.json({{
        "digests": [hashlib.sha256(k.reveal().encode()).hexdigest() for k in got],
        "repr": repr(got),
        "snapshot": repr(lctx.snapshot()),
    }})
"""

MODULE_HANDLER = """

@get("/m", modules=["reader"])
async def m(req: Request[None], res: Response[Read], lctx: LocalContext, gctx: GlobalContext) -> None:
    names = [n for n in req.headers["x-secrets"].split(",") if n]
    digests = await gctx.modules["reader"].read(names)
    res.json({"digests": digests, "repr": "", "snapshot": repr(lctx.snapshot())})
"""

MODULE = """
import hashlib

from gati_runtime_min import GlobalContext, module


@module("reader", capabilities=[{listed}])
class Reader:
    def __init__(self, gctx: GlobalContext) -> None:
        self.gctx = gctx

    async def read(self, names: list[str]) -> list[str]:
        got = [await self.gctx.secrets.get(name) for name in names]
        return [hashlib.sha256(k.reveal().encode()).hexdigest() for k in got]
"""

VAULT = """
from collections.abc import Mapping
from typing import Any

from gati_runtime_min.secrets import MemoryProvider


def connect(options: Mapping[str, Any]) -> MemoryProvider:
    return MemoryProvider({str(k): str(v) for k, v in options.items()})
"""


def build_spec(root: Path, spec: SecretsSpec) -> BuiltApp:
    pkg = "secapp_" + uuid.uuid4().hex[:10]
    handlers = HEAD + MODULE_HANDLER
    handlers += "".join(
        HANDLER.format(j=j, listed=", ".join(json.dumps(n) for n in sorted(d))) for j, d in enumerate(spec.declared)
    )
    module = MODULE.format(listed=", ".join(json.dumps(f"secret:{n}") for n in sorted(spec.module_caps)))
    options = ", ".join(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in spec.values.items())
    config = (
        f'sources = ["{pkg}"]\n\n[tool.gati.secrets]\nproviders = ["vault"]\nvault = "{pkg}.vault:connect"\n'
        f"vault_options = {{ {options} }}\nttl = 30\n"
    )
    files = {
        f"{pkg}/__init__.py": "",
        f"{pkg}/handlers.py": handlers,
        f"{pkg}/reader.py": module,
        f"{pkg}/vault.py": VAULT,
    }
    project = write_project(root, files, config)
    result = build(project, jobs=1)
    assert result.ok and result.program is not None, render_text(result.diagnostics, result.sources)
    return BuiltApp(project / ".gati", project.resolve(), pkg, result.program.gtypes)


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def text(self) -> str:
        """Everything the records hold: messages, formatted with their arguments, and every field."""
        return "\n".join(f"{r.getMessage()} {r.__dict__!r} {self.format(r)}" for r in self.records)


@contextmanager
def all_logs() -> Iterator[Records]:
    root = logging.getLogger()
    handler, level = Records(), root.level
    gati = [logging.getLogger(n) for n in ("gati", "gati.audit", "gati.runtime")]
    levels = [g.level for g in gati]
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for g in gati:
        g.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        for g, lvl in zip(gati, levels, strict=True):
            g.setLevel(lvl)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@settings(max_examples=10)
@given(spec=secrets_specs())
def test_property_41_secrets_manager_access_control(tmp_path_factory: Any, spec: SecretsSpec) -> None:
    built = build_spec(tmp_path_factory.mktemp("p41"), spec)

    async def calls() -> list[tuple[int, str, str]]:
        async with AppClient(GatiApp(built.build_dir)) as client:
            out = []
            for j, names, fail in spec.requests:
                headers = {"x-secrets": ",".join(names), "x-fail": fail}
                r = await client.get(f"/s{j}" if j >= 0 else "/m", headers=headers)
                out.append((r.status_code, r.headers["x-request-id"], r.text))
            return out

    try:
        with all_logs() as logs:
            answers = asyncio.run(calls())
    finally:
        built.forget()
    accesses = [
        e for r in logs.records if isinstance(e := getattr(r, "gati", None), dict) and e["event"] == "secret.access"
    ]
    seen_rids = set()
    for (j, names, fail), (status, rid, text) in zip(spec.requests, answers, strict=True):
        seen_rids.add(rid)
        assert all(v not in text for v in spec.values.values()), text
        allowed = spec.declared[j] if j >= 0 else spec.module_caps
        read = []  # the names read before the first undeclared one, and that one
        for name in names:
            read.append(name)
            if name not in allowed:
                break
        want: list[dict[str, Any]] = [
            {
                "event": "secret.access",
                "requestId": rid,
                "handlerId": f"s{j}" if j >= 0 else "m",
                "secret": name,
                "provider": "memory" if name in allowed else None,
                "outcome": "read" if name in allowed else "refused",
                **({} if j >= 0 else {"moduleId": "reader"}),
            }
            for name in read
        ]
        assert [e for e in accesses if e["requestId"] == rid] == want
        body = json.loads(text)
        if read and read[-1] not in allowed:
            assert status == 500 and body["error"]["code"] == "GATI545", body
            owner = f"s{j}" if j >= 0 else "module:reader"
            assert body["error"]["message"] == f"handler {owner!r} does not declare secret {read[-1]!r}"
        elif j >= 0 and fail == "http":
            assert status == 502 and body["error"]["code"] == "upstream", body
        elif j >= 0 and fail == "crash":
            assert status == 500, body
        else:
            assert status == 200, body
            assert body["digests"] == [digest(spec.values[n]) for n in names]
            if j >= 0:
                assert body["repr"] == "[" + ", ".join(f"Secret({n!r}, '***')" for n in names) + "]"
                assert all(f"Secret({n!r}, '***')" in body["snapshot"] for n in names)
    assert {e["requestId"] for e in accesses} <= seen_rids
    leaked = [v for v in spec.values.values() if v in logs.text()]
    assert leaked == [], "a secret value reached the logs"
