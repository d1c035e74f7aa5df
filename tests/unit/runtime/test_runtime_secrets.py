"""`gctx.secrets`: providers (environment, files, a vault), the TTL cache, the masked `Secret`,
the audit lines, and a handler reading only the secrets it declares (GATI545), GATI546 otherwise."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import pickle
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import orjson
import pytest
from rt_fixture import Route, make_build  # type: ignore[import-not-found, unused-ignore]  # a sibling module

from gati_runtime_min import GatiApp
from gati_runtime_min.secrets import EnvProvider, FileProvider, Secret, SecretError, SecretStore
from gati_runtime_min.testing import AppClient

T = TypeVar("T")

HANDLERS = """

@get("/secret")
async def read_secret(req, res, lctx, gctx):
    key = await gctx.secrets.get("api_key")
    lctx.log("read the key", key=key)
    lctx.set("key", key)
    lctx.event("secret", key=key)
    res.json({"str": str(key), "repr": repr(key), "fmt": f"{key}", "snapshot": repr(lctx.snapshot()),
              "length": len(key.reveal()), "first": key.reveal()[:3]})


@get("/secret-undeclared")
async def undeclared_secret(req, res, lctx, gctx):
    await gctx.secrets.get("api_key")
    res.empty()


@get("/secret-missing")
async def missing_secret(req, res, lctx, gctx):
    await gctx.secrets.get("absent")
    res.empty()


@get("/secret-leak")
async def leak_secret(req, res, lctx, gctx):
    key = await gctx.secrets.get("api_key")
    if req.headers.get("x-crash"):
        raise RuntimeError(f"could not connect with {key}")
    raise HTTPError(502, "upstream", f"upstream refused key {key}")
"""

ROUTES = (
    Route("read_secret", "GET", "/secret", secrets=("api_key",)),
    Route("undeclared_secret", "GET", "/secret-undeclared"),
    Route("missing_secret", "GET", "/secret-missing", secrets=("absent",)),
    Route("leak_secret", "GET", "/secret-leak", secrets=("api_key",)),
)
VALUE = "sk_live_abcdef123456"


def secret_build(root: Path, secrets: dict[str, Any] | None) -> Path:
    settings: dict[str, Any] = {"config": {"greeting": "hi"}}
    if secrets is not None:
        settings["secrets"] = secrets
    build: Path = make_build(root, routes=ROUTES, settings=settings, global_hooks=False)
    module = json.loads((build / "handlers" / "read_secret.json").read_text())["module"]
    handlers = build.parent / (module.replace(".", "/") + ".py")
    with handlers.open("a", encoding="utf-8") as f:
        f.write(HANDLERS)
    return build


def run(build: Path, fn: Callable[[AppClient], Awaitable[T]]) -> T:
    async def main() -> T:
        async with AppClient(GatiApp(build)) as client:
            return await fn(client)

    return asyncio.run(main())


def get(build: Path, path: str, **kwargs: Any) -> httpx.Response:
    return run(build, lambda c: c.get(path, **kwargs))


def audit_entries(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [r.gati for r in caplog.records if r.name == "gati.audit" and hasattr(r, "gati")]


@pytest.fixture
def env_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RTAPP_API_KEY", VALUE)
    return secret_build(tmp_path, {"providers": ["env"], "envPrefix": "RTAPP_", "ttl": 30})


def test_declared_secret_is_read_from_the_environment_and_never_shown(
    env_build: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    r = get(env_build, "/secret")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["length"] == len(VALUE) and body["first"] == VALUE[:3]
    assert body["str"] == body["fmt"] == "***"
    assert body["repr"] == "Secret('api_key', '***')"
    assert VALUE not in body["snapshot"] and "***" in body["snapshot"]
    # nothing logged anywhere (request log, audit line with its events) holds the value
    assert VALUE not in caplog.text
    assert all(VALUE not in json.dumps(e) for e in audit_entries(caplog))
    request_lines = [r.getMessage() for r in caplog.records if r.name == "gati.audit" and not hasattr(r, "gati")]
    assert request_lines and all(VALUE not in line for line in request_lines)


def test_every_read_is_audited_with_request_and_handler(env_build: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="gati.audit")
    r = get(env_build, "/secret")
    (entry,) = audit_entries(caplog)
    assert entry == {
        "event": "secret.access",
        "requestId": r.headers["x-request-id"],
        "handlerId": "read_secret",
        "secret": "api_key",
        "provider": "env",
        "outcome": "read",
    }
    (line,) = [r.getMessage() for r in caplog.records if hasattr(r, "gati")]
    assert json.loads(line) == entry  # the message is the same entry, for plain log formats


def test_undeclared_secret_is_refused_with_gati545_and_audited(
    env_build: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gati.audit")
    r = get(env_build, "/secret-undeclared")
    assert r.status_code == 500
    assert r.json()["error"]["code"] == "GATI545"
    assert "api_key" in r.json()["error"]["message"] and VALUE not in r.text
    (entry,) = audit_entries(caplog)
    assert [r.levelno for r in caplog.records if hasattr(r, "gati")] == [logging.WARNING]  # kept with the trail off
    assert entry["outcome"] == "refused" and entry["handlerId"] == "undeclared_secret"
    assert entry["requestId"] == r.headers["x-request-id"] and entry["provider"] is None


def test_missing_secret_is_gati546(env_build: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="gati.audit")
    r = get(env_build, "/secret-missing")
    assert (r.status_code, r.json()["error"]["code"]) == (503, "GATI546")
    assert audit_entries(caplog)[0]["outcome"] == "missing"


def test_secret_in_an_error_message_or_a_crash_log_stays_masked(
    env_build: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    r = get(env_build, "/secret-leak")
    assert r.status_code == 502 and r.json()["error"]["message"] == "upstream refused key ***"
    r = get(env_build, "/secret-leak", headers={"x-crash": "1"})
    assert r.status_code == 500 and VALUE not in r.text
    assert "could not connect with ***" in caplog.text and VALUE not in caplog.text


def test_file_provider_reads_a_mounted_secret_before_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mount = tmp_path / "mount"
    mount.mkdir()
    (mount / "api_key").write_text("from-the-file\n", encoding="utf-8")
    monkeypatch.setenv("API_KEY", "from-the-environment")
    build = secret_build(tmp_path / "app", {"providers": ["file", "env"], "directory": str(mount)})
    assert get(build, "/secret").json()["length"] == len("from-the-file")


def test_vault_provider_is_plugged_in_by_module_and_factory(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    name = "vault_" + uuid.uuid4().hex[:8]
    build = secret_build(tmp_path, {"providers": ["vault"], "vault": f"{name}:connect", "vaultOptions": {"k": "v"}})
    (build.parent / f"{name}.py").write_text(
        "class Vault:\n"
        "    name = 'vault'\n"
        "    def __init__(self, options):\n"
        "        self.options = options\n"
        "    async def fetch(self, key):\n"
        "        return {'api_key': 'vault:' + self.options['k']}.get(key)\n"
        "def connect(options):\n"
        "    return Vault(options)\n",
        encoding="utf-8",
    )
    caplog.set_level(logging.INFO, logger="gati.audit")
    r = get(build, "/secret")
    assert r.json()["first"] == "vau" and r.json()["length"] == len("vault:v")
    assert audit_entries(caplog)[0]["provider"] == "vault"


def test_unavailable_vault_is_gati546_and_does_not_fall_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    name = "vault_" + uuid.uuid4().hex[:8]
    monkeypatch.setenv("API_KEY", "lower-priority")
    build = secret_build(tmp_path, {"providers": ["vault", "env"], "vault": f"{name}:connect"})
    (build.parent / f"{name}.py").write_text(
        "from gati_runtime_min.secrets import ProviderUnavailable\n"
        "class Down:\n"
        "    name = 'vault'\n"
        "    async def fetch(self, key):\n"
        "        raise ProviderUnavailable('connection refused')\n"
        "def connect(options):\n"
        "    return Down()\n",
        encoding="utf-8",
    )
    caplog.set_level(logging.INFO, logger="gati.audit")
    r = get(build, "/secret")
    assert (r.status_code, r.json()["error"]["code"]) == (503, "GATI546")
    assert audit_entries(caplog)[0]["outcome"] == "unavailable"


def test_values_are_cached_for_the_ttl_then_read_again() -> None:
    reads: list[str] = []
    now = [100.0]

    class Counting:
        name = "counting"

        async def fetch(self, key: str) -> str | None:
            reads.append(key)
            return f"v{len(reads)}"

    store = SecretStore([Counting()], ttl=30.0, clock=lambda: now[0])

    async def read() -> str:
        secret, _ = await store.read("token")
        return secret.reveal()

    assert asyncio.run(read()) == "v1"
    now[0] += 29.0
    assert asyncio.run(read()) == "v1"  # from the cache
    now[0] += 2.0
    assert asyncio.run(read()) == "v2" and reads == ["token", "token"]


def test_env_provider_prefix_and_file_provider_strip_one_newline(tmp_path: Path) -> None:
    env = EnvProvider("APP_", {"APP_DB_PASSWORD": "pw"})
    assert env.variable("db-password") == "APP_DB_PASSWORD"
    assert asyncio.run(env.fetch("db-password")) == "pw"
    (tmp_path / "tls.key").write_text("line1\nline2\n\n", encoding="utf-8")
    assert asyncio.run(FileProvider(tmp_path).fetch("tls.key")) == "line1\nline2\n"
    assert asyncio.run(FileProvider(tmp_path).fetch("absent")) is None


def test_secret_value_never_shows_in_repr_format_json_or_pickle() -> None:
    s = Secret("db", "hunter2")
    assert "hunter2" not in repr(s) + str(s) + f"{s:>20}" + f"{s!s}"
    logging.getLogger("gati.test").warning("value %s", s)  # logging formats with `%`
    assert "hunter2" not in repr({"s": s}) and "hunter2" not in repr([s])
    with pytest.raises(TypeError):
        orjson.dumps({"s": s})
    with pytest.raises(TypeError):
        json.dumps({"s": s})
    with pytest.raises(TypeError):
        pickle.dumps(s)
    assert copy.deepcopy({"s": s})["s"] is s
    assert s == Secret("other-name", "hunter2") and s != Secret("db", "hunter3")
    assert s.reveal() == "hunter2"


def test_secret_error_codes_are_in_the_runtime_table() -> None:
    assert SecretError("GATI545", "x", "refused").status == 500
    assert SecretError("GATI546", "x", "missing").status == 503


def test_built_project_declares_reads_and_refuses_secrets_end_to_end(tmp_path: Path) -> None:
    """`@get(..., secrets=[...])` and `[tool.gati.secrets]` through `gatic build` into the served app."""
    from gati_compiler.pipeline import build

    pkg = "sec_" + uuid.uuid4().hex[:8]
    mount = tmp_path / "mount"
    mount.mkdir()
    (mount / "api_key").write_text("from-the-mount\n", encoding="utf-8")
    root = tmp_path / "app"
    (root / pkg).mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        f'[tool.gati]\nname = "shop"\n\n[tool.gati.secrets]\nproviders = ["file"]\ndirectory = "{mount}"\n',
        encoding="utf-8",
    )
    (root / pkg / "__init__.py").write_text("", encoding="utf-8")
    (root / pkg / "handlers.py").write_text(
        "from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get\n\n\n"
        '@get("/key", secrets=["api_key"])\n'
        "async def key(req: Request[None], res: Response[int], lctx: LocalContext, gctx: GlobalContext) -> None:\n"
        '    res.json(len((await gctx.secrets.get("api_key")).reveal()))\n\n\n'
        '@get("/other")\n'
        "async def other(req: Request[None], res: Response[int], lctx: LocalContext, gctx: GlobalContext) -> None:\n"
        '    name = "api_key"  # not a literal: the compiler cannot see it, the runtime refuses it\n'
        "    res.json(len((await gctx.secrets.get(name)).reveal()))\n",
        encoding="utf-8",
    )
    result = build(root)
    assert result.ok, [d.message for d in result.diagnostics]
    manifest = json.loads((root / ".gati" / "handlers" / "key.json").read_text())
    assert manifest["dependencies"]["secrets"] == ["api_key"]

    async def go(c: AppClient) -> tuple[httpx.Response, httpx.Response]:
        return await c.get("/key"), await c.get("/other")

    ok, refused = run(root / ".gati", go)
    assert (ok.status_code, ok.json()) == (200, len("from-the-mount"))
    assert (refused.status_code, refused.json()["error"]["code"]) == (500, "GATI545")


def test_run_handler_gives_a_handler_its_declared_secrets_only() -> None:
    from gati_runtime_min import Request, Response, get
    from gati_runtime_min.context import GlobalContext, LocalContext
    from gati_runtime_min.testing import run_handler_sync

    @get("/pay", secrets=["stripe_key"])
    async def pay(req: Request[None], res: Response[Any], lctx: LocalContext, gctx: GlobalContext) -> None:
        key = await gctx.secrets.get(req.headers.get("x-name", "stripe_key"))
        res.json(key.reveal())

    secrets = {"stripe_key": "sk_test", "db_password": "pw"}
    assert run_handler_sync(pay, secrets=secrets).body == "sk_test"
    refused = run_handler_sync(pay, secrets=secrets, headers={"x-name": "db_password"})
    assert refused.status == 500 and refused.error is not None and refused.error.code == "GATI545"


def test_an_in_process_module_reads_only_the_secrets_its_capabilities_name(
    env_build: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from gati_runtime_min.loader import ModuleSpec

    caplog.set_level(logging.INFO, logger="gati.audit")
    app = GatiApp(env_build)
    spec = ModuleSpec("payments", object, ("secret:api_key", "module:db"), (), {})
    gctx = app._module_context(spec)

    async def read(name: str) -> str:
        return (await gctx.secrets.get(name)).reveal()

    assert asyncio.run(read("api_key")) == VALUE
    with pytest.raises(SecretError) as refused:
        asyncio.run(read("db_password"))
    assert refused.value.code == "GATI545" and "module:payments" in (refused.value.detail or "")
    outcomes = [(e["moduleId"], e["outcome"]) for e in audit_entries(caplog)]
    assert outcomes == [("payments", "read"), ("payments", "refused")]
