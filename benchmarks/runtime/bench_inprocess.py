"""In-process microseconds per request: Gati vs raw ASGI, Starlette+fastjsonschema, FastAPI+pydantic.

Every app serves the same two endpoints and is called directly as an ASGI app (no network):
`GET /users/{id}` (path parameter decoded as int, JSON response) and `POST /users` (JSON body
validated: name 1..80 chars, role "reader"|"editor", optional age 0..150; 201 with the user).
The Gati app runs from a hand-written `.gati/` build (see `_gati_build`), with its whole pipeline:
request id, routing, contexts, lifecycle, decoding, the handler, encoding, audit check.

    .venv/bin/python benchmarks/runtime/bench_inprocess.py [--n 20000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import textwrap
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import BaseModel, Field

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]
BODY = b'{"name": "Ada Lovelace", "role": "editor", "age": 36}'


# ---------------------------------------------------------------- raw ASGI, hand-written validation
def _raw_valid(d: Any) -> bool:
    if not isinstance(d, dict):
        return False
    name, role = d.get("name"), d.get("role")
    if not isinstance(name, str) or not 1 <= len(name) <= 80 or role not in ("reader", "editor"):
        return False
    age = d.get("age")
    return "age" not in d or (type(age) is int and 0 <= age <= 150)


async def raw_app(scope: Scope, receive: Any, send: Any) -> None:
    path, method = scope["path"], scope["method"]
    if method == "GET" and path.startswith("/users/"):
        uid = int(path[7:])
        body = orjson.dumps({"id": str(uid), "name": "Ada", "role": "reader"})
        status = 200
    elif method == "POST" and path == "/users":
        msg = await receive()
        data = orjson.loads(msg["body"])
        if not _raw_valid(data):
            status, body = 422, b'{"error":"invalid"}'
        else:
            status, body = 201, orjson.dumps({**data, "id": "u1"})
    else:
        status, body = 404, b""
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


# ---------------------------------------------------------------- Starlette + fastjsonschema
def starlette_app() -> ASGIApp:
    import fastjsonschema
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 80},
            "role": {"enum": ["reader", "editor"]},
            "age": {"type": "integer", "minimum": 0, "maximum": 150},
        },
        "required": ["name", "role"],
    }
    validate = fastjsonschema.compile(schema)

    async def get_user(request: Request) -> Response:
        uid = request.path_params["id"]
        return Response(orjson.dumps({"id": str(uid), "name": "Ada", "role": "reader"}), media_type="application/json")

    async def create_user(request: Request) -> Response:
        data = orjson.loads(await request.body())
        try:
            validate(data)
        except fastjsonschema.JsonSchemaException as exc:
            return JSONResponse({"error": str(exc)}, status_code=422)
        return Response(orjson.dumps({**data, "id": "u1"}), status_code=201, media_type="application/json")

    routes = [Route("/users/{id:int}", get_user), Route("/users", create_user, methods=["POST"])]
    app: ASGIApp = Starlette(routes=routes)
    return app


# ---------------------------------------------------------------- FastAPI + pydantic
class NewUserModel(BaseModel):
    name: str = Field(min_length=1, max_length=80)
    role: Literal["reader", "editor"]
    age: int | None = Field(default=None, ge=0, le=150)


class UserModel(NewUserModel):
    id: str


def fastapi_app() -> ASGIApp:
    from fastapi import FastAPI

    api = FastAPI()

    @api.get("/users/{id}")
    async def get_user(id: int) -> UserModel:
        return UserModel(id=str(id), name="Ada", role="reader")

    @api.post("/users", status_code=201)
    async def create_user(body: NewUserModel) -> UserModel:
        return UserModel(id="u1", **body.model_dump())

    app: ASGIApp = api
    return app


# ---------------------------------------------------------------- Gati, from a hand-written build
HANDLERS_PY = """
from gati_runtime_min import get, post


@get("/users/{id:int}")
async def get_user(req, res, lctx, gctx):
    res.json({"id": str(req.params["id"]), "name": "Ada", "role": "reader"})


@post("/users", status=201)
async def create_user(req, res, lctx, gctx):
    res.json({**req.body, "id": "u1"})
"""

# What a generated decoder looks like: straight-line checks, issues with paths.
VALIDATORS_PY = """
class Issue:
    __slots__ = ("path", "code", "expected", "actual", "message")

    def __init__(self, path, code, expected, actual, message):
        self.path, self.code, self.expected, self.actual, self.message = path, code, expected, actual, message

    def to_json(self):
        return {"path": self.path, "code": self.code, "expected": self.expected, "actual": self.actual,
                "message": self.message}


class DecodeError(Exception):
    def __init__(self, issues):
        super().__init__(issues[0].message)
        self.issues = issues


def _new_user(v, path):
    if type(v) is not dict:
        raise DecodeError([Issue(path, "type", "object", type(v).__name__, "Expected `object`")])
    issues = []
    name = v.get("name")
    if type(name) is not str or not 1 <= len(name) <= 80:
        issues.append(Issue(path + ".name", "type", "str(1..80)", repr(name), "Expected `str` of length 1..80"))
    if v.get("role") not in ("reader", "editor"):
        issues.append(Issue(path + ".role", "literal", "'reader' | 'editor'", repr(v.get("role")), "Expected literal"))
    out = {"name": name, "role": v.get("role")}
    if "age" in v:
        age = v["age"]
        if type(age) is not int or not 0 <= age <= 150:
            issues.append(Issue(path + ".age", "range", "int 0..150", repr(age), "Expected `int` in 0..150"))
        out["age"] = age
    if issues:
        raise DecodeError(issues)
    return out


def _user(v, path):
    out = _new_user(v, path)
    uid = v.get("id")
    if type(uid) is not str:
        raise DecodeError([Issue(path + ".id", "type", "str", type(uid).__name__, "Expected `str`")])
    out["id"] = uid
    return out


class _GetUser:
    def decode_body(self, value):
        return None

    def decode_query(self, value):
        return None

    def decode_params(self, value):
        raw = value["id"]
        try:
            return {"id": int(raw)}
        except ValueError:
            raise DecodeError([Issue("$.id", "type", "int", "str", "Expected `int`")]) from None

    def encode_response(self, value):
        return _user(value, "$")


class _CreateUser(_GetUser):
    def decode_body(self, value):
        return _new_user(value, "$")

    def decode_params(self, value):
        return None


HANDLERS = {"get_user": _GetUser(), "create_user": _CreateUser()}


def decode(ref, value):
    return {"NewUser": _new_user, "User": _user}[ref](value, "$")


encode = decode


def validate(ref, value):
    try:
        decode(ref, value)
    except DecodeError as exc:
        return exc.issues
    return []
"""


def _gati_build(root: Path) -> Path:
    pkg = root / "benchapp"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "handlers.py").write_text(textwrap.dedent(HANDLERS_PY))
    build = root / ".gati"
    (build / "handlers").mkdir(parents=True)
    (build / "validators").mkdir()
    (build / "validators" / "__init__.py").write_text(VALIDATORS_PY)
    ref = {"kind": "ref", "ref": "User"}
    common = {"module": "benchapp.handlers", "isAsync": True, "hooks": {}, "policies": {}, "dependencies": {}}
    handlers = [
        {"handlerId": "get_user", "method": "GET", "path": "/users/{id:int}", "function": "get_user",
         "gtypes": {"response": ref, "params": {"kind": "object"}}, **common},
        {"handlerId": "create_user", "method": "POST", "path": "/users", "function": "create_user", "status": 201,
         "gtypes": {"request": {"kind": "ref", "ref": "NewUser"}, "response": ref}, **common},
    ]  # fmt: skip
    entries = []
    for h in handlers:
        (build / "handlers" / f"{h['handlerId']}.json").write_text(json.dumps(h))
        entries.append({"handlerId": h["handlerId"], "file": f"handlers/{h['handlerId']}.json"})
    manifest = {"app": "bench", "irVersion": 1, "projectRoot": "..", "sourceRoots": ["."], "handlers": entries}
    (build / "manifest.json").write_text(json.dumps(manifest))
    return build


# ---------------------------------------------------------------- driver
def _scope(method: str, path: str, body: bool) -> Scope:
    headers = [(b"host", b"bench"), (b"user-agent", b"bench/1"), (b"accept", b"*/*")]
    if body:
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"", "headers": headers,
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
    }  # fmt: skip


async def _measure(app: ASGIApp, method: str, path: str, n: int, repeat: int) -> tuple[float, int, bytes]:
    body_msg = {"type": "http.request", "body": BODY if method == "POST" else b"", "more_body": False}
    status = 0
    out = b""

    async def receive() -> Any:
        return body_msg

    async def send(message: Any) -> None:
        nonlocal status, out
        if message["type"] == "http.response.start":
            status = message["status"]
        else:
            out = message.get("body", b"")

    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(n):
            await app(dict(_scope(method, path, method == "POST")), receive, send)
        best = min(best, (time.perf_counter() - t0) / n * 1e6)
    return best, status, out


async def _lifespan(app: ASGIApp) -> None:
    messages = iter([{"type": "lifespan.startup"}])

    async def receive() -> Any:
        try:
            return next(messages)
        except StopIteration:
            await asyncio.sleep(3600)

    async def send(message: Any) -> None:
        pass

    task = asyncio.ensure_future(app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send))
    await asyncio.sleep(0.01)
    task.cancel()


async def main(n: int, repeat: int) -> None:
    from gati_runtime_min import GatiApp

    with tempfile.TemporaryDirectory() as tmp:
        gati = GatiApp(_gati_build(Path(tmp)))
        apps: dict[str, ASGIApp] = {
            "raw ASGI": raw_app,
            "gati": gati,
            "starlette+fastjsonschema": starlette_app(),
            "fastapi+pydantic": fastapi_app(),
        }
        await gati.startup()
        results: dict[str, dict[str, float]] = {name: {} for name in apps}
        cases = (("GET /users/{id}", "GET", "/users/42", 200), ("POST /users", "POST", "/users", 201))
        for name, app in apps.items():
            for label, method, path, want in cases:
                _, status, body = await _measure(app, method, path, 200, 1)  # warm up and check
                if status != want:
                    raise SystemExit(f"{name} {label}: status {status}: {body[:200]!r}")
        # interleaved rounds, best of `repeat`: a load spike on a shared machine hits every app alike
        for _ in range(repeat):
            for name, app in apps.items():
                for label, method, path, _want in cases:
                    us, _, _ = await _measure(app, method, path, n, 1)
                    results[name][label] = min(us, results[name].get(label, us))
    labels = ["GET /users/{id}", "POST /users"]
    print(f"in-process, best of {repeat} x {n} requests, Python {sys.version.split()[0]}")
    print(f"{'app':<26}" + "".join(f"{lbl + ' us':>20}{'x raw':>8}{'x gati':>8}" for lbl in labels))
    for name, row in results.items():
        cells = ""
        for lbl in labels:
            us = row[lbl]
            cells += f"{us:>20.2f}{us / results['raw ASGI'][lbl]:>8.2f}{us / results['gati'][lbl]:>8.2f}"
        print(f"{name:<26}{cells}")
    for lbl in labels:
        g = results["gati"][lbl]
        print(
            f"{lbl}: gati/raw {g / results['raw ASGI'][lbl]:.2f}x, "
            f"starlette/gati {results['starlette+fastjsonschema'][lbl] / g:.2f}x, "
            f"fastapi/gati {results['fastapi+pydantic'][lbl] / g:.2f}x"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.n, args.repeat))
