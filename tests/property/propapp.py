"""The app the runtime property tests serve: written from source strings, built by the real compiler.

`build_app(root)` writes a project under `root` (its package has a unique name, so several builds
can be imported in one process), runs the whole pipeline with `gati_compiler.pipeline.build` and
returns the `.gati/` folder and the package name. The handlers and hooks record what ran in the
module-level `RECORD` dict, keyed by request id, so a test can read the order afterwards.
`Served` (the `served` fixture of conftest.py) is the built app with the `GatiApp` serving it.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar

from gati_compiler.diagnostics.render import render_text
from gati_compiler.ir.gtype import GType
from gati_compiler.pipeline import build
from gati_runtime_min import GatiApp
from gati_runtime_min.testing import AppClient
from tests.unit.conftest import write_project

ADMIN_ROLES: Final = ("admin", "ops")
ALL_ROLES: Final = ("admin", "ops", "reader")
JWT_SECRET_ENV: Final = "GATI_PROP_JWT_SECRET"
API_KEYS_ENV: Final = "GATI_PROP_API_KEYS"
JWT_SECRET: Final = "property-tests-secret-0123456789abcdef"
T = TypeVar("T")

MODELS: Final = """
from __future__ import annotations

from typing import Annotated, Literal

from annotated_types import Ge, Le, MaxLen, MinLen
from typing_extensions import NotRequired, TypedDict


class Item(TypedDict):
    name: Annotated[str, MinLen(1), MaxLen(20)]
    qty: Annotated[int, Ge(0), Le(1000)]
    kind: Literal["a", "b"]
    tags: list[str]
    note: NotRequired[str | None]


class Work(TypedDict):
    mode: Literal["ok", "raise", "http", "invalid"]
    n: int
    sleep: NotRequired[bool]


class Done(TypedDict):
    n: int
    seen: list[str]


class Meta(TypedDict):
    request_id: str
    path: str
    version: str | None
    head: bool


class Message(TypedDict):
    topic: str
    value: int


class Publish(TypedDict):
    subscribe: list[str]
    publish: list[Message]


class Grant(TypedDict):
    subject: str | None
    roles: list[str]
"""

HANDLERS: Final = """
from __future__ import annotations

import asyncio
import json
from typing import Any

from gati_runtime_min import GlobalContext, HTTPError, LocalContext, Request, Response, get, post

from {pkg}.hooks import plan_hooks, r_after, r_catch
from {pkg}.models import Done, Grant, Item, Message, Meta, Publish, Work

RECORD: dict[str, list[Any]] = {{}}


def note(req: Request[Any], what: Any) -> None:
    RECORD.setdefault(req.request_id, []).append(what)


@post("/items", status=201)
async def create_item(req: Request[Item], res: Response[Item], lctx: LocalContext, gctx: GlobalContext) -> None:
    note(req, "handler")
    res.status(201).json(req.body)


@post("/echo")
async def echo(req: Request[Any], res: Response[Item], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json(req.body)


@post("/work")
async def work(req: Request[Work], res: Response[Done], lctx: LocalContext, gctx: GlobalContext) -> None:
    seen = sorted(k for k in ("a", "b", "n") if lctx.get(k) is not None)
    lctx.set("n", req.body["n"])
    await asyncio.sleep(0)
    if req.body.get("sleep"):
        await asyncio.sleep(0.01)
    mode = req.body["mode"]
    if mode == "raise":
        raise RuntimeError(f"secret {{req.body['n']}}")
    if mode == "http":
        raise HTTPError(409, "conflict", f"conflict {{req.body['n']}}")
    if mode == "invalid":
        res.json({{"n": "not a number", "seen": seen}})
        return
    res.json({{"n": lctx.get("n"), "seen": seen}})


@get("/slow/{{n:int}}", timeout=0.2)
async def slow(req: Request[None], res: Response[Done], lctx: LocalContext, gctx: GlobalContext) -> None:
    n = req.params["n"]
    for i in range(n % 4):
        lctx.on_timeout(lambda i=i: note(req, ("cleanup", i)))
    for i in range(n // 4 % 4):
        lctx.compensate(lambda i=i: note(req, ("compensate", i)))
    if n % 2 == 0:
        await asyncio.sleep(10)
    res.json({{"n": n, "seen": []}})


@get("/meta/{{key}}")
async def meta(req: Request[None], res: Response[Meta], lctx: LocalContext, gctx: GlobalContext) -> None:
    m = lctx.meta
    seen: Meta = {{"request_id": m.request_id, "path": m.path, "version": m.version, "head": m.flags["head"]}}
    note(req, seen)
    res.json(seen)


@post("/publish")
async def publish(req: Request[Publish], res: Response[list[Message]], lctx: LocalContext, gctx: GlobalContext) -> None:
    got: list[Message] = []
    for topic in req.body["subscribe"]:
        lctx.subscribe(topic, lambda value, topic=topic: got.append({{"topic": topic, "value": value}}))
    for message in req.body["publish"]:
        lctx.publish(message["topic"], message["value"])
        await asyncio.sleep(0)
    res.json(got)


@get("/hooks", before=[plan_hooks], after=[r_after], catch=[r_catch])
async def hooks(req: Request[None], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None:
    note(req, "handler")
    if req.headers.get("x-fail"):
        raise ValueError("handler failed")
    res.empty()


@get("/admin", roles=["admin", "ops"])
async def admin(req: Request[None], res: Response[Grant], lctx: LocalContext, gctx: GlobalContext) -> None:
    user = req.user
    assert user is not None
    res.json({{"subject": user.subject, "roles": sorted(user.roles)}})
"""

HOOKS: Final = '''
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, after, before, catch


def _note(req: Request[Any], what: str) -> None:
    from {pkg}.handlers import note

    note(req, what)


def _local(kind: str, index: int, is_async: bool, fails: int, req: Request[Any]) -> Callable[..., Any]:
    attempts = [0]

    def run() -> None:
        _note(req, f"{{kind}}{{index}}")
        attempts[0] += 1
        if attempts[0] <= fails:
            raise ConnectionError(f"{{kind}}{{index}} attempt {{attempts[0]}}")

    if kind == "catch":
        if is_async:

            async def acatch(error: Exception, *args: Any) -> None:
                run()

            return acatch

        def scatch(error: Exception, *args: Any) -> None:
            run()

        return scatch
    if is_async:

        async def ahook(*args: Any) -> None:
            run()

        return ahook

    def shook(*args: Any) -> None:
        run()

    return shook


@before
def plan_hooks(req: Request[Any], res: Response[Any], lctx: LocalContext, gctx: GlobalContext) -> None:
    """Register the local hooks the `x-plan` header asks for: [[kind, async, fails, retries], ...]."""
    _note(req, "r_before")
    for index, (kind, is_async, fails, retries) in enumerate(json.loads(req.headers.get("x-plan", "[]"))):
        register = {{"before": lctx.before, "after": lctx.after, "catch": lctx.catch}}[kind]
        register(_local(kind, index, is_async, fails, req), retries=retries)


@after
async def r_after(req: Request[Any], res: Response[Any], lctx: LocalContext, gctx: GlobalContext) -> None:
    _note(req, "r_after")


@catch
async def r_catch(
    error: Exception, req: Request[Any], res: Response[Any], lctx: LocalContext, gctx: GlobalContext
) -> None:
    _note(req, "r_catch")
'''

GLOBAL_HOOKS: Final = """
from __future__ import annotations

from typing import Any

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, after, before, catch


@before
def g_before(req: Request[Any], res: Response[Any], lctx: LocalContext, gctx: GlobalContext) -> None:
    from {pkg}.handlers import note

    if req.path == "/hooks":
        note(req, "g_before")


@after
def g_after(req: Request[Any], res: Response[Any], lctx: LocalContext, gctx: GlobalContext) -> None:
    from {pkg}.handlers import note

    if req.path == "/hooks":
        note(req, "g_after")


@catch
def g_catch(error: Exception, req: Request[Any], res: Response[Any], lctx: LocalContext, gctx: GlobalContext) -> None:
    from {pkg}.handlers import note

    if req.path == "/hooks":
        note(req, "g_catch")
"""

CONFIG: Final = f"""
sources = ["."]
global_hooks = ["{{pkg}}.global_hooks"]

[tool.gati.auth.jwt]
secret_env = "{JWT_SECRET_ENV}"

[tool.gati.auth.api_keys]
keys_env = "{API_KEYS_ENV}"

[tool.gati.config]
greeting = "hi"
"""


@dataclass(frozen=True)
class BuiltApp:
    build_dir: Path
    project_dir: Path
    package: str
    gtypes: Mapping[str, GType]

    def record(self) -> dict[str, list[Any]]:
        """The `RECORD` dict of the app's handler module (import it after the app is loaded)."""
        module = importlib.import_module(f"{self.package}.handlers")
        record: dict[str, list[Any]] = module.RECORD
        return record

    def forget(self) -> None:
        """Drop the app's modules and source root from this process."""
        for name in [m for m in sys.modules if m.split(".")[0] == self.package]:
            del sys.modules[name]
        if str(self.project_dir) in sys.path:
            sys.path.remove(str(self.project_dir))


def build_app(root: Path) -> BuiltApp:
    """Write the property app under `root`, build it with the real compiler; the build and its package."""
    pkg = "propapp_" + uuid.uuid4().hex[:10]
    sources = {
        f"{pkg}/__init__.py": "",
        f"{pkg}/models.py": MODELS,
        f"{pkg}/handlers.py": HANDLERS.format(pkg=pkg),
        f"{pkg}/hooks.py": HOOKS.format(pkg=pkg),
        f"{pkg}/global_hooks.py": GLOBAL_HOOKS.format(pkg=pkg),
    }
    project = write_project(root, sources, CONFIG.replace("{pkg}", pkg))
    result = build(project, jobs=1)
    assert result.ok and result.program is not None, render_text(result.diagnostics, result.sources)
    return BuiltApp(project / ".gati", project.resolve(), pkg, result.program.gtypes)


def api_keys_spec() -> tuple[str, dict[str, frozenset[str]]]:
    """An API key for every subset of `ALL_ROLES`: the env value and key → roles."""
    keys: dict[str, frozenset[str]] = {}
    for mask in range(1 << len(ALL_ROLES)):
        roles = frozenset(r for i, r in enumerate(ALL_ROLES) if mask >> i & 1)
        keys[f"key-{mask}"] = roles
    spec = ";".join(f"{k}={','.join(sorted(v))}" for k, v in keys.items())
    return spec, keys


@dataclass(frozen=True)
class Served:
    """A built property app and the `GatiApp` serving it in-process."""

    built: BuiltApp
    app: GatiApp
    api_keys: Mapping[str, frozenset[str]]

    def run(self, fn: Callable[[AppClient], Awaitable[T]]) -> T:
        """Run `fn` with an in-process client of the app, on a fresh event loop."""

        async def main() -> T:
            async with AppClient(self.app) as client:
                return await fn(client)

        return asyncio.run(main())
