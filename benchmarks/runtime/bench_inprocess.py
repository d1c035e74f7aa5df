"""In-process microseconds per request: Gati vs raw ASGI, Starlette+fastjsonschema, FastAPI+pydantic.

Every app serves the same three endpoints, validates with the same rules, answers with the same
JSON, and is called directly as an ASGI app (no network):

- `GET /users/{id}`: the path parameter as an int; 200 with a small typed object
  `{"id": int, "name": str, "role": "reader" | "editor"}`.
- `POST /orders` (the realistic validated POST): the request schema of
  `benchmarks/validators` (11 fields: constrained strings with patterns, bounded ints, float,
  bool, literal, optional, a nested object, a list of objects, `dict[str, int]`); 201 with a
  small typed receipt. A body with five errors is answered 422 by every app (checked in the
  warm-up).
- `POST /users` (the "tiny POST", the old 3-field body): name 1..80 chars, role
  "reader" | "editor", optional age 0..150; 201 with the user and its id.

The apps:

- raw ASGI: straight-line hand-written validation of exactly those rules, no framework; twice,
  with orjson (the leanest app one can write) and with the standard library's `json` (no
  third-party code at all; the issue's reference figures of 3.6 / 13 us match this one);
- gati: a real compiled build of a small app (`BENCH_APP`, TypedDicts), built with
  `gati_compiler.pipeline.build` into a temporary folder and served by `GatiApp` with its whole
  pipeline (request id, routing, contexts, lifecycle, generated decoders and response encoders);
- Starlette + fastjsonschema with the equivalent JSON Schema;
- FastAPI + pydantic (strict models, `response_model` checked as FastAPI does).

    .venv/bin/python benchmarks/runtime/bench_inprocess.py [--n 20000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks.validators.bench_validators import INVALID, VALID  # noqa: E402

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]

EMAIL = r"^[^@\s]+@[^@\s]+\.[a-z]+$"
SKU = r"^[A-Z]{3}-[0-9]{4}$"
ZIP = r"^[0-9]{5}$"

# the payloads of benchmarks/validators, so both benchmarks measure the same documents
ORDER: dict[str, Any] = VALID
BAD_ORDER: dict[str, Any] = INVALID
ORDER_BODY = orjson.dumps(ORDER)
BAD_ORDER_BODY = orjson.dumps(BAD_ORDER)
RECEIPT = {"id": "o1", "customer_id": 42, "items": 3, "total": 99.5, "status": "accepted"}

USER_BODY = b'{"name": "Ada Lovelace", "role": "editor", "age": 36}'
BAD_USER_BODY = b'{"name": "", "role": "admin", "age": 36}'
USER = {"name": "Ada Lovelace", "role": "editor", "age": 36, "id": "u1"}
GOT_USER = {"id": 42, "name": "Ada", "role": "reader"}

# label, method, path, body, status, expected JSON, invalid body (None: no invalid case)
CASES: tuple[tuple[str, str, str, bytes, int, Any, bytes | None], ...] = (
    ("GET /users/{id}", "GET", "/users/42", b"", 200, GOT_USER, None),
    ("POST /orders (realistic)", "POST", "/orders", ORDER_BODY, 201, RECEIPT, BAD_ORDER_BODY),
    ("POST /users (tiny)", "POST", "/users", USER_BODY, 201, USER, BAD_USER_BODY),
)
# the GET with a bad path parameter answers 404 (router converter) everywhere but FastAPI (422):
# both are rejections, so it is not part of the invalid checks


# ---------------------------------------------------------------- raw ASGI, hand-written validation
_RE_EMAIL = re.compile(EMAIL)
_RE_SKU = re.compile(SKU)
_RE_ZIP = re.compile(ZIP)


def _raw_user_valid(d: Any) -> bool:
    if type(d) is not dict:
        return False
    name, role = d.get("name"), d.get("role")
    if type(name) is not str or not 1 <= len(name) <= 80 or role not in ("reader", "editor"):
        return False
    if "age" not in d:
        return True
    age = d["age"]
    return type(age) is int and 0 <= age <= 150


def _raw_order_valid(d: Any) -> bool:
    if type(d) is not dict:
        return False
    try:
        cid, email, name, age = d["customer_id"], d["email"], d["name"], d["age"]
        total, express, channel = d["total"], d["express"], d["channel"]
        addr, items, attrs = d["address"], d["items"], d["attributes"]
        if type(cid) is not int or cid < 1:
            return False
        if type(email) is not str or len(email) > 254 or _RE_EMAIL.search(email) is None:
            return False
        if type(name) is not str or not 1 <= len(name) <= 80:
            return False
        if type(age) is not int or not 0 <= age <= 150:
            return False
        if (type(total) is not float and type(total) is not int) or total < 0:
            return False
        if type(express) is not bool or (channel != "web" and channel != "mobile" and channel != "api"):
            return False
        coupon = d.get("coupon")
        if coupon is not None and type(coupon) is not str:
            return False
        if type(addr) is not dict:
            return False
        street, city, zip_ = addr["street"], addr["city"], addr["zip"]
        if type(street) is not str or not 1 <= len(street) <= 100 or type(city) is not str or not 1 <= len(city) <= 60:
            return False
        if type(zip_) is not str or _RE_ZIP.search(zip_) is None:
            return False
        if type(items) is not list or not items:
            return False
        for it in items:
            if type(it) is not dict:
                return False
            sku, qty, price = it["sku"], it["quantity"], it["price"]
            if type(sku) is not str or _RE_SKU.search(sku) is None:
                return False
            if type(qty) is not int or not 1 <= qty <= 1000:
                return False
            if (type(price) is not float and type(price) is not int) or price < 0:
                return False
    except KeyError:
        return False
    if type(attrs) is not dict:
        return False
    for v in attrs.values():  # noqa: SIM110 - a loop, as the generated decoders do (no generator)
        if type(v) is not int:
            return False
    return True


_JSON_HDR = (b"content-type", b"application/json")


def raw_asgi(loads: Callable[[bytes], Any], dumps: Callable[[Any], bytes]) -> ASGIApp:
    """The hand-written ASGI app, with the given JSON functions."""

    async def raw_app(scope: Scope, receive: Any, send: Any) -> None:
        path, method = scope["path"], scope["method"]
        if method == "GET" and path.startswith("/users/"):
            try:
                uid = int(path[7:])
            except ValueError:
                status, body = 404, b""
            else:
                status, body = 200, dumps({"id": uid, "name": "Ada", "role": "reader"})
        elif method == "POST" and path == "/orders":
            msg = await receive()
            data = loads(msg["body"])
            if not _raw_order_valid(data):
                status, body = 422, b'{"error":"invalid"}'
            else:
                receipt = {
                    "id": "o1", "customer_id": data["customer_id"], "items": len(data["items"]),
                    "total": float(data["total"]), "status": "accepted",
                }  # fmt: skip
                status, body = 201, dumps(receipt)
        elif method == "POST" and path == "/users":
            msg = await receive()
            data = loads(msg["body"])
            if not _raw_user_valid(data):
                status, body = 422, b'{"error":"invalid"}'
            else:
                status, body = 201, dumps({**data, "id": "u1"})
        else:
            status, body = 404, b""
        headers = [_JSON_HDR, (b"content-length", str(len(body)).encode())]  # as every peer sends
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return raw_app


def _stdlib_dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


raw_app = raw_asgi(orjson.loads, orjson.dumps)
raw_stdlib_app = raw_asgi(json.loads, _stdlib_dumps)


# ---------------------------------------------------------------- Starlette + fastjsonschema
_STR = {"type": "string"}
ORDER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "customer_id": {"type": "integer", "minimum": 1},
        "email": {"type": "string", "maxLength": 254, "pattern": EMAIL},
        "name": {"type": "string", "minLength": 1, "maxLength": 80},
        "age": {"type": "integer", "minimum": 0, "maximum": 150},
        "total": {"type": "number", "minimum": 0},
        "express": {"type": "boolean"},
        "channel": {"enum": ["web", "mobile", "api"]},
        "coupon": {"anyOf": [_STR, {"type": "null"}]},
        "address": {
            "type": "object",
            "properties": {
                "street": {"type": "string", "minLength": 1, "maxLength": 100},
                "city": {"type": "string", "minLength": 1, "maxLength": 60},
                "zip": {"type": "string", "pattern": ZIP},
            },
            "required": ["street", "city", "zip"],
        },
        "items": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {
                    "sku": {"type": "string", "pattern": SKU},
                    "quantity": {"type": "integer", "minimum": 1, "maximum": 1000},
                    "price": {"type": "number", "minimum": 0},
                },
                "required": ["sku", "quantity", "price"],
            },
        },
        "attributes": {"type": "object", "additionalProperties": {"type": "integer"}},
    },
    "required": [
        "customer_id",
        "email",
        "name",
        "age",
        "total",
        "express",
        "channel",
        "address",
        "items",
        "attributes",
    ],
}
USER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 80},
        "role": {"enum": ["reader", "editor"]},
        "age": {"type": "integer", "minimum": 0, "maximum": 150},
    },
    "required": ["name", "role"],
}


def starlette_app() -> ASGIApp:
    import fastjsonschema
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    validate_order = fastjsonschema.compile(ORDER_SCHEMA)
    validate_user = fastjsonschema.compile(USER_SCHEMA)

    async def get_user(request: Request) -> Response:
        uid = request.path_params["id"]
        return Response(orjson.dumps({"id": uid, "name": "Ada", "role": "reader"}), media_type="application/json")

    async def create_order(request: Request) -> Response:
        data = orjson.loads(await request.body())
        try:
            validate_order(data)
        except fastjsonschema.JsonSchemaException as exc:
            return JSONResponse({"error": str(exc)}, status_code=422)
        receipt = {
            "id": "o1", "customer_id": data["customer_id"], "items": len(data["items"]),
            "total": float(data["total"]), "status": "accepted",
        }  # fmt: skip
        return Response(orjson.dumps(receipt), status_code=201, media_type="application/json")

    async def create_user(request: Request) -> Response:
        data = orjson.loads(await request.body())
        try:
            validate_user(data)
        except fastjsonschema.JsonSchemaException as exc:
            return JSONResponse({"error": str(exc)}, status_code=422)
        return Response(orjson.dumps({**data, "id": "u1"}), status_code=201, media_type="application/json")

    routes = [
        Route("/users/{id:int}", get_user),
        Route("/orders", create_order, methods=["POST"]),
        Route("/users", create_user, methods=["POST"]),
    ]
    app: ASGIApp = Starlette(routes=routes)
    return app


# ---------------------------------------------------------------- FastAPI + pydantic (strict models)
_STRICT = ConfigDict(strict=True)


class UserModel(BaseModel):
    model_config = _STRICT
    id: int
    name: str
    role: Literal["reader", "editor"]


class NewUserModel(BaseModel):
    model_config = _STRICT
    name: str = Field(min_length=1, max_length=80)
    role: Literal["reader", "editor"]
    age: int | None = Field(default=None, ge=0, le=150)


class CreatedUserModel(NewUserModel):
    id: str


class AddressModel(BaseModel):
    model_config = _STRICT
    street: str = Field(min_length=1, max_length=100)
    city: str = Field(min_length=1, max_length=60)
    zip: str = Field(pattern=ZIP)


class LineItemModel(BaseModel):
    model_config = _STRICT
    sku: str = Field(pattern=SKU)
    quantity: int = Field(ge=1, le=1000)
    price: float = Field(ge=0)


class CreateOrderModel(BaseModel):
    model_config = _STRICT
    customer_id: int = Field(ge=1)
    email: str = Field(max_length=254, pattern=EMAIL)
    name: str = Field(min_length=1, max_length=80)
    age: int = Field(ge=0, le=150)
    total: float = Field(ge=0)
    express: bool
    channel: Literal["web", "mobile", "api"]
    coupon: str | None = None
    address: AddressModel
    items: Annotated[list[LineItemModel], Field(min_length=1)]
    attributes: dict[str, int]


class OrderReceiptModel(BaseModel):
    model_config = _STRICT
    id: str
    customer_id: int
    items: int
    total: float
    status: Literal["accepted"]


def fastapi_app() -> ASGIApp:
    from fastapi import FastAPI

    api = FastAPI()

    @api.get("/users/{id}")
    async def get_user(id: int) -> UserModel:
        return UserModel(id=id, name="Ada", role="reader")

    @api.post("/orders", status_code=201)
    async def create_order(body: CreateOrderModel) -> OrderReceiptModel:
        return OrderReceiptModel(
            id="o1", customer_id=body.customer_id, items=len(body.items), total=body.total, status="accepted"
        )

    @api.post("/users", status_code=201, response_model_exclude_unset=True)
    async def create_user(body: NewUserModel) -> CreatedUserModel:
        return CreatedUserModel(id="u1", **body.model_dump(exclude_unset=True))

    app: ASGIApp = api
    return app


# ---------------------------------------------------------------- Gati: a real compiled build
BENCH_PYPROJECT = """\
[project]
name = "benchapp"
version = "0.1.0"

[tool.gati]
name = "benchapp"
sources = ["."]
"""

# the compiler needs literal patterns, so they are written out (the same as EMAIL, SKU, ZIP)
BENCH_APP = '''\
"""The benchmark app: the same three endpoints as the peers, typed with TypedDicts."""

from __future__ import annotations

from typing import Annotated, Literal, NotRequired, TypedDict

from annotated_types import Ge, Le, MaxLen, MinLen
from pydantic import StringConstraints

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get, post


class Address(TypedDict):
    street: Annotated[str, MinLen(1), MaxLen(100)]
    city: Annotated[str, MinLen(1), MaxLen(60)]
    zip: Annotated[str, StringConstraints(pattern=r"^[0-9]{5}$")]


class LineItem(TypedDict):
    sku: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}-[0-9]{4}$")]
    quantity: Annotated[int, Ge(1), Le(1000)]
    price: Annotated[float, Ge(0)]


class CreateOrder(TypedDict):
    customer_id: Annotated[int, Ge(1)]
    email: Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\\s]+@[^@\\s]+\\.[a-z]+$")]
    name: Annotated[str, MinLen(1), MaxLen(80)]
    age: Annotated[int, Ge(0), Le(150)]
    total: Annotated[float, Ge(0)]
    express: bool
    channel: Literal["web", "mobile", "api"]
    coupon: NotRequired[str | None]
    address: Address
    items: Annotated[list[LineItem], MinLen(1)]
    attributes: dict[str, int]


class OrderReceipt(TypedDict):
    id: str
    customer_id: int
    items: int
    total: float
    status: Literal["accepted"]


class User(TypedDict):
    id: int
    name: str
    role: Literal["reader", "editor"]


class NewUser(TypedDict):
    name: Annotated[str, MinLen(1), MaxLen(80)]
    role: Literal["reader", "editor"]
    age: NotRequired[Annotated[int, Ge(0), Le(150)]]


class CreatedUser(NewUser):
    id: str


@get("/users/{id:int}")
async def get_user(req: Request[None], res: Response[User], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json({"id": req.params["id"], "name": "Ada", "role": "reader"})


@post("/orders", status=201)
async def create_order(
    req: Request[CreateOrder], res: Response[OrderReceipt], lctx: LocalContext, gctx: GlobalContext
) -> None:
    body = req.body
    res.json(
        {"id": "o1", "customer_id": body["customer_id"], "items": len(body["items"]), "total": body["total"],
         "status": "accepted"}
    )


@post("/users", status=201)
async def create_user(
    req: Request[NewUser], res: Response[CreatedUser], lctx: LocalContext, gctx: GlobalContext
) -> None:
    res.json({**req.body, "id": "u1"})
'''


def gati_build(root: Path) -> Path:
    """Write the bench app under `root`, compile it with `gati_compiler.pipeline.build`; the `.gati/` folder."""
    from gati_compiler.diagnostics.render import render_text
    from gati_compiler.pipeline import build

    project = root / "benchapp_project"
    pkg = project / "benchapp"
    pkg.mkdir(parents=True)
    (project / "pyproject.toml").write_text(BENCH_PYPROJECT)
    (pkg / "__init__.py").write_text("")
    (pkg / "handlers.py").write_text(BENCH_APP)
    result = build(project, jobs=1)
    if not result.ok:
        raise SystemExit("the bench app does not build:\n" + render_text(result.diagnostics, result.sources))
    return project / ".gati"


# ---------------------------------------------------------------- driver
def scope_for(method: str, path: str, body: bytes) -> dict[str, Any]:
    headers = [(b"host", b"bench"), (b"user-agent", b"bench/1"), (b"accept", b"*/*")]
    if method == "POST":
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"", "headers": headers,
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
    }  # fmt: skip


async def measure(app: ASGIApp, method: str, path: str, body: bytes, n: int) -> tuple[float, int, bytes]:
    """Microseconds per request over `n` calls (a fresh shallow copy of the scope each time: apps add keys)."""
    template = scope_for(method, path, body)
    body_msg = {"type": "http.request", "body": body, "more_body": False}
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

    copy = template.copy
    t0 = time.perf_counter()
    for _ in range(n):
        await app(copy(), receive, send)
    return (time.perf_counter() - t0) / n * 1e6, status, out


async def check(name: str, app: ASGIApp) -> None:
    """Every app gives the same answer to the valid requests and rejects the same invalid bodies with 422."""
    for label, method, path, body, want, expected, bad in CASES:
        _, status, out = await measure(app, method, path, body, 200)  # also the warm-up
        if status != want or orjson.loads(out) != expected:
            raise SystemExit(f"{name} {label}: {status} {out[:300]!r}, expected {want} {expected}")
        if bad is not None:
            _, status, out = await measure(app, method, path, bad, 20)
            if status != 422:
                raise SystemExit(f"{name} {label}: the invalid body got {status} {out[:300]!r}, expected 422")


def apps(build_dir: Path) -> dict[str, ASGIApp]:
    from gati_runtime_min import GatiApp

    return {
        "raw ASGI (orjson)": raw_app,
        "raw ASGI (stdlib json)": raw_stdlib_app,
        "gati": GatiApp(build_dir),
        "starlette+fastjsonschema": starlette_app(),
        "fastapi+pydantic": fastapi_app(),
    }


async def main(n: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        contenders = apps(gati_build(Path(tmp)))
        await contenders["gati"].startup()  # type: ignore[attr-defined]
        for name, app in contenders.items():
            await check(name, app)
        results: dict[str, dict[str, float]] = {name: {} for name in contenders}
        # interleaved rounds, best of `repeat`: a load spike on a shared machine hits every app alike
        for _ in range(repeat):
            for name, app in contenders.items():
                for label, method, path, body, *_ in CASES:
                    us, _, _ = await measure(app, method, path, body, n)
                    results[name][label] = min(us, results[name].get(label, us))
    report(results, n, repeat)


def report(results: dict[str, dict[str, float]], n: int, repeat: int) -> None:
    labels = [c[0] for c in CASES]
    raw, fast, gati = results["raw ASGI (orjson)"], results["fastapi+pydantic"], results["gati"]
    raw_std = results["raw ASGI (stdlib json)"]
    print(f"in-process, best of {repeat} x {n} requests, Python {sys.version.split()[0]}; us per request")
    print("'x raw' is against raw ASGI with orjson, the leanest hand-written app")
    print(f"{'app':<26}" + "".join(f"{lbl:>26}{'x raw':>7}{'/FastAPI':>9}" for lbl in labels))
    for name, row in results.items():
        cells = "".join(f"{row[lbl]:>26.2f}{row[lbl] / raw[lbl]:>7.2f}{row[lbl] / fast[lbl]:>9.2f}" for lbl in labels)
        print(f"{name:<26}{cells}")
    print()
    for lbl in labels:
        print(
            f"{lbl}: gati/raw {gati[lbl] / raw[lbl]:.2f}x with orjson, {gati[lbl] / raw_std[lbl]:.2f}x with "
            "stdlib json (goal <= 2x), "
            f"Starlette/gati {results['starlette+fastjsonschema'][lbl] / gati[lbl]:.2f}x, "
            f"FastAPI/gati {fast[lbl] / gati[lbl]:.2f}x"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.n, args.repeat))
