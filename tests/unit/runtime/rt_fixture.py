"""Builds a small `.gati/` build by hand (the compiler is not used), for the runtime tests."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent


@dataclass(frozen=True)
class Route:
    hid: str
    method: str
    path: str
    status: int = 200
    body: str | None = None
    query: str | None = None
    params: str | None = None
    response: Any = None  # "User" or ["list", "User"]
    roles: tuple[str, ...] = ()
    rate_limit: tuple[int, float] | None = None
    timeout: float | None = None
    modules: tuple[str, ...] = ()
    before: tuple[tuple[str, float | None, int], ...] = ()  # (function in hooks.py, timeout, retries)
    after: tuple[str, ...] = ()
    catch: tuple[str, ...] = ()
    function: str | None = None
    secrets: tuple[str, ...] = ()  # `dependencies.secrets`, written only when given


ROUTES: tuple[Route, ...] = (
    Route("get_me", "GET", "/users/me", response="User"),
    Route("list_users", "GET", "/users", query="ListQuery", response=["list", "User"]),
    Route("create_user", "POST", "/users", status=201, body="NewUser", response="User", modules=("db",)),
    Route("admin", "GET", "/admin", roles=("admin",)),
    Route("limited", "GET", "/limited", rate_limit=(2, 60.0)),
    Route(
        "create_order",
        "POST",
        "/orders",
        body="Order",
        before=(("flaky", None, 1),),
        after=("r_after",),
        catch=("r_catch",),
    ),
    Route("slow", "GET", "/slow", timeout=0.2),
    Route("slow_sync", "GET", "/slow-sync", timeout=0.2),
    Route("hook_timeout", "GET", "/hook-timeout", before=(("sleepy", 0.05, 0),)),
    Route("sneaky", "GET", "/sneaky"),
    Route("notify", "POST", "/notify", body="Order"),
    Route("silent", "GET", "/silent", response="User"),
    Route("get_file", "GET", "/files/{rest:path}", params="RestParams"),
    Route("get_user", "GET", "/users/{id:int}", params="IdParams", response="User"),
)


def _dump(path: Path, data: Any) -> str:
    text = json.dumps(data, sort_keys=True, indent=2) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _gtype(ref: Any) -> dict[str, Any] | None:
    if ref is None:
        return None
    if isinstance(ref, list):
        return {"kind": "array", "items": {"kind": "ref", "ref": ref[1]}}
    return {"kind": "ref", "ref": ref}


def _hookdef(pkg: str, kind: str, function: str, timeout: float | None, retries: int, scope: str) -> dict[str, Any]:
    return {
        "id": f"{pkg}.hooks:{function}",
        "kind": kind,
        "module": f"{pkg}.hooks",
        "function": function,
        "isAsync": False,
        "timeout": timeout,
        "retries": retries,
        "scope": scope,
        "source": {"file": f"{pkg}/hooks.py", "line": 1},
    }


def make_build(
    root: Path,
    *,
    settings: dict[str, Any] | None = None,
    routes: tuple[Route, ...] = ROUTES,
    global_hooks: bool = True,
    versions: list[Any] | None = None,
) -> Path:
    """Write a project (a uniquely named package) and its `.gati/` build under `root`; return the build dir."""
    pkg = "rtapp_" + uuid.uuid4().hex[:10]
    src = root / "project"
    (src / pkg).mkdir(parents=True)
    (src / pkg / "__init__.py").write_text("", encoding="utf-8")
    for name in ("handlers", "hooks"):
        text = (HERE / f"rt_fixture_{name}.py.txt").read_text(encoding="utf-8").replace("{pkg}", pkg)
        (src / pkg / f"{name}.py").write_text(text, encoding="utf-8")
    build = src / ".gati"
    artifacts: dict[str, str] = {}
    codecs: list[str] = []
    entries: list[dict[str, Any]] = []
    for r in routes:
        hooks = {
            "before": [_hookdef(pkg, "before", f, t, n, "route") for f, t, n in r.before],
            "after": [_hookdef(pkg, "after", f, None, 0, "route") for f in r.after],
            "catch": [_hookdef(pkg, "catch", f, None, 0, "route") for f in r.catch],
        }
        gtypes = {
            k: v
            for k, v in {
                "request": _gtype(r.body),
                "response": _gtype(r.response),
                "query": _gtype(r.query),
                "params": _gtype(r.params),
            }.items()
            if v is not None
        }
        policies: dict[str, Any] = {"roles": list(r.roles)}
        if r.rate_limit:
            policies["rateLimit"] = {"limit": r.rate_limit[0], "window": r.rate_limit[1]}
        if r.timeout:
            policies["timeout"] = r.timeout
        manifest = {
            "handlerId": r.hid,
            "method": r.method,
            "path": r.path,
            "pathParams": [],
            "module": f"{pkg}.handlers",
            "function": r.function or r.hid,
            "isAsync": True,
            "tags": [],
            "status": r.status,
            "gtypes": gtypes,
            "hooks": hooks,
            "policies": policies,
            "dependencies": {
                "modules": list(r.modules),
                "plugins": [],
                **({"secrets": list(r.secrets)} if r.secrets else {}),
            },
            "fingerprint": "sha256:" + "0" * 64,
            "source": {"file": f"{pkg}/handlers.py", "line": 1},
        }
        rel = f"handlers/{r.hid}.json"
        artifacts[rel] = _dump(build / rel, manifest)
        entries.append({"handlerId": r.hid, "method": r.method, "path": r.path, "file": rel})
        codecs.append(
            f"    {r.hid!r}: HandlerCodec(body={r.body!r}, query={r.query!r}, params={r.params!r}, "
            f"response={r.response!r}),"
        )
    module_manifest = {
        "moduleId": "db",
        "module": f"{pkg}.hooks",
        "className": "Db",
        "capabilities": ["db.write"],
        "egress": [],
        "methods": [],
        "source": {"file": f"{pkg}/hooks.py", "line": 1},
    }
    artifacts["modules/db.json"] = _dump(build / "modules/db.json", module_manifest)
    artifacts["gtypes.json"] = _dump(build / "gtypes.json", {})
    validators = (HERE / "rt_fixture_validators.py.txt").read_text(encoding="utf-8")
    validators = validators.replace("    # filled in by the fixture builder", "\n".join(codecs))
    (build / "validators").mkdir()
    (build / "validators" / "__init__.py").write_text(validators, encoding="utf-8")
    ghooks = (
        [
            _hookdef(pkg, "before", "g_before", None, 0, "global"),
            _hookdef(pkg, "after", "g_after", None, 0, "global"),
            _hookdef(pkg, "catch", "g_catch", None, 0, "global"),
        ]
        if global_hooks
        else []
    )
    _dump(
        build / "manifest.json",
        {
            "app": "rtapp",
            "compilerVersion": "0.1.0",
            "irVersion": 1,
            "projectRoot": "..",
            "sourceRoots": ["."],
            "handlers": entries,
            "modules": [{"moduleId": "db", "file": "modules/db.json"}],
            "globalHooks": ghooks,
            "settings": settings or {"config": {"greeting": "hi", "nested": {"a": [1, 2]}}},
            "versions": versions or [],
            "artifacts": artifacts,
            "contentHash": "sha256:" + "ab" * 32,
        },
    )
    return build


def handlers_state(build: Path) -> dict[str, list[Any]]:
    """The `STATE` dict of the fixture's handler module (imported by the app under test)."""
    import importlib
    import json as _json

    manifest = _json.loads((build / "manifest.json").read_text(encoding="utf-8"))
    first = _json.loads((build / manifest["handlers"][0]["file"]).read_text(encoding="utf-8"))
    state: dict[str, list[Any]] = importlib.import_module(first["module"]).STATE
    return state
