"""In-process cost of serving an old API version: Gati's Timescape transformers vs Cadwyn (FastAPI).

The performance goal (issue 12): a request from a client three versions behind (three transformer
steps each way) costs at most 1.5x a current-version request, and the cost it adds is at most a
third of what Cadwyn adds for the same change set.

Both apps serve the same two endpoints in four versions, with the changes of `examples/accounts`
spread so that a client of the first version crosses three steps each way:

- 2026-09-01 (v1): `NewUser {full_name, email, status?, opening_balance?: "12.34"}`,
  `User {id, full_name, email, status, balance: "12.34", avatar_url}`, status `active | disabled`;
- 2026-10-01 (v2): `full_name` renamed `name` (request and response);
- 2026-11-02 (v3): status `disabled` renamed `suspended` (request and response), `avatar_url` removed;
- 2026-12-01 (v4, current): `opening_balance` / `balance` (decimal strings) became integer cents
  `opening_balance_cents` / `balance_cents` (a type change with a hand-written conversion).

- `POST /users` (201): the body upgraded three times, the answer downgraded three times;
- `GET /users/{id}` (200): the answer downgraded three times.

Each app is called directly as an ASGI app (no network), by a current client and by a v1 client
(`X-Gati-Version` / Cadwyn's `x-api-version` header); every answer is checked against the
expected JSON of its version before timing. Each round runs every cell once: the apps start in
turn, and an app's current and v1 cases of a route alternate in 30 blocks each (n/30 requests a
block), so a slow spell of a shared machine falls on both cases of the pair. The table shows each
cell's best round; the goals are judged on per-round figures (the v1 case minus, or over, the
current case of the same round), reported as median [min..max] over the rounds, with the verdict
by the median and how many rounds were within the goal. Cadwyn costs about a hundred times more
per request, so its cells run --cadwyn-n requests (n/3) to keep rounds short; at n/10 its
per-round differences still swung by more than their median. On a machine shared with other
work, --clock cpu (this process's CPU time) keeps the rounds steady where wall time does not.

- gati: a real build of a small app: the v1..v3 sources are written and recorded into a
  `timescape.lock` (`gatic version record`, clock pinned by `GATI_TIMESCAPE_AT`), then the v4
  sources and the transformers (in the form `gatic transformers write` uses) are built and
  served by `GatiApp`;
- cadwyn: `Cadwyn` with a `VersionBundle` of the same four versions, pydantic models of the head
  version, schema/enum instructions and request/response converters for each change;
- fastapi: the head version alone in plain FastAPI (current cases only). Cadwyn runs its version
  machinery on every request, the latest version's included, so its old-minus-current difference
  understates what versioning costs it; its old-version cost over plain FastAPI is reported too.

    python benchmarks/timescape/bench_transformers.py [--n 3000] [--rounds 15] [--cadwyn-n 1000] [--clock cpu] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel, Field

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]

GOAL_OLD_OVER_CURRENT: Final = 1.5
GOAL_ADDED_VS_CADWYN: Final = 1 / 3
# the clock of every measurement: wall time, or with --clock cpu this process's CPU time (steadier
# on a machine other work shares: time spent waiting for a core is not counted)
CLOCK: list[Callable[[], float]] = [time.perf_counter]
BLOCKS: Final = 30  # per round, the current and v1 cases of a route alternate in this many blocks each

DATES: Final = ("2026-09-01", "2026-10-01", "2026-11-02", "2026-12-01")  # v1..v4, v4 current
TSVS: Final = tuple(f"{d}T09:00:00Z" for d in DATES)

# ---------------------------------------------------------------- the requests and the answers
_ADA: Final = {"email": "ada@example.org"}
BODY_V1: Final = {"full_name": "Ada Lovelace", **_ADA, "status": "disabled", "opening_balance": "12.34"}
BODY_V4: Final = {"name": "Ada Lovelace", **_ADA, "status": "suspended", "opening_balance_cents": 1234}
USER_V1: Final = {
    "id": 1,
    "full_name": "Ada Lovelace",
    **_ADA,
    "status": "disabled",
    "balance": "12.34",
    "avatar_url": None,
}
USER_V4: Final = {"id": 1, "name": "Ada Lovelace", **_ADA, "status": "suspended", "balance_cents": 1234}
GOT_V1: Final = {**USER_V1, "id": 7, "status": "active", "balance": "0.50"}
GOT_V4: Final = {**USER_V4, "id": 7, "status": "active", "balance_cents": 50}

# label, method, path, body, status, expected JSON; "current" and "v1" variants
CASES: Final[tuple[tuple[str, str, str, Any, int, Any], ...]] = (
    ("POST /users current", "POST", "/users", BODY_V4, 201, USER_V4),
    ("POST /users v1", "POST", "/users", BODY_V1, 201, USER_V1),
    ("GET /users/{id} current", "GET", "/users/7", None, 200, GOT_V4),
    ("GET /users/{id} v1", "GET", "/users/7", None, 200, GOT_V1),
)


def _cents_to_decimal(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _decimal_to_cents(amount: str) -> int:
    return int(Decimal(amount) * 100)


# ---------------------------------------------------------------- Cadwyn
class UserStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class NewUserModel(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    status: UserStatus = UserStatus.ACTIVE
    opening_balance_cents: int = Field(default=0, ge=0)


class UserModel(BaseModel):
    id: int
    name: str
    email: str
    status: UserStatus
    balance_cents: int = Field(ge=0)


def cadwyn_app() -> ASGIApp:
    """The four versions in Cadwyn: head models, and one `VersionChange` per step."""
    from cadwyn import (
        Cadwyn,
        HeadVersion,
        RequestInfo,
        ResponseInfo,
        Version,
        VersionBundle,
        VersionChange,
        VersionedAPIRouter,
        convert_request_to_next_version_for,
        convert_response_to_previous_version_for,
        enum,
        schema,
    )

    class BalanceInCents(VersionChange):
        """`opening_balance` and `balance` (decimal strings) became integer cents."""

        instructions_to_migrate_to_previous_version = (
            schema(NewUserModel).field("opening_balance_cents").didnt_exist,
            schema(NewUserModel)
            .field("opening_balance")
            .existed_as(type=str | None, info=Field(default=None, pattern=r"^[0-9]{1,9}(\.[0-9]{1,2})?$")),
            schema(UserModel).field("balance_cents").didnt_exist,
            schema(UserModel).field("balance").existed_as(type=str),
        )

        @convert_request_to_next_version_for(NewUserModel)
        def opening_balance_to_cents(request: RequestInfo) -> None:
            amount = request.body.pop("opening_balance", None)
            if amount is not None:
                request.body["opening_balance_cents"] = _decimal_to_cents(amount)

        @convert_response_to_previous_version_for(UserModel)
        def balance_to_decimal(response: ResponseInfo) -> None:
            response.body["balance"] = _cents_to_decimal(response.body.pop("balance_cents"))

    class SuspendedAndNoAvatar(VersionChange):
        """The status `disabled` became `suspended`; `avatar_url` was removed."""

        instructions_to_migrate_to_previous_version = (
            enum(UserStatus).didnt_have("SUSPENDED"),
            enum(UserStatus).had(DISABLED="disabled"),
            schema(UserModel).field("avatar_url").existed_as(type=str | None, info=Field(default=None)),
        )

        @convert_request_to_next_version_for(NewUserModel)
        def disabled_to_suspended(request: RequestInfo) -> None:
            if request.body.get("status") == "disabled":
                request.body["status"] = "suspended"

        @convert_response_to_previous_version_for(UserModel)
        def suspended_to_disabled(response: ResponseInfo) -> None:
            if response.body["status"] == "suspended":
                response.body["status"] = "disabled"
            response.body["avatar_url"] = None

    class FullNameRenamed(VersionChange):
        """`full_name` was renamed `name`."""

        instructions_to_migrate_to_previous_version = (
            schema(NewUserModel).field("name").had(name="full_name"),
            schema(UserModel).field("name").had(name="full_name"),
        )

        @convert_request_to_next_version_for(NewUserModel)
        def full_name_to_name(request: RequestInfo) -> None:
            request.body["name"] = request.body.pop("full_name")

        @convert_response_to_previous_version_for(UserModel)
        def name_to_full_name(response: ResponseInfo) -> None:
            response.body["full_name"] = response.body.pop("name")

    router = VersionedAPIRouter()

    @router.post("/users", response_model=UserModel, status_code=201)
    async def create_user(user: NewUserModel) -> UserModel:
        return UserModel(id=1, name=user.name, email=user.email, status=user.status,
                         balance_cents=user.opening_balance_cents)  # fmt: skip

    @router.get("/users/{user_id}", response_model=UserModel)
    async def get_user(user_id: int) -> UserModel:
        return UserModel(id=user_id, name="Ada Lovelace", email="ada@example.org", status=UserStatus.ACTIVE,
                         balance_cents=50)  # fmt: skip

    versions = VersionBundle(
        HeadVersion(),
        Version(DATES[3], BalanceInCents),
        Version(DATES[2], SuspendedAndNoAvatar),
        Version(DATES[1], FullNameRenamed),
        Version(DATES[0]),
    )
    app = Cadwyn(versions=versions)
    app.generate_and_include_versioned_routers(router)
    asgi: ASGIApp = app
    return asgi


def fastapi_app() -> ASGIApp:
    """The head version in plain FastAPI, unversioned: the baseline of Cadwyn's own overhead."""
    from fastapi import FastAPI

    api = FastAPI()

    @api.post("/users", status_code=201)
    async def create_user(user: NewUserModel) -> UserModel:
        return UserModel(id=1, name=user.name, email=user.email, status=user.status,
                         balance_cents=user.opening_balance_cents)  # fmt: skip

    @api.get("/users/{user_id}")
    async def get_user(user_id: int) -> UserModel:
        return UserModel(id=user_id, name="Ada Lovelace", email="ada@example.org", status=UserStatus.ACTIVE,
                         balance_cents=50)  # fmt: skip

    app: ASGIApp = api
    return app


# ---------------------------------------------------------------- Gati: a real build with a recorded history
PYPROJECT: Final = (
    '[project]\nname = "benchaccounts"\nversion = "0.1.0"\n\n[tool.gati]\nname = "benchaccounts"\nsources = ["."]\n'
)


# the models of each version; v4 is the current code
MODELS: Final = {
    1: ('ACTIVE = "active"\n    DISABLED = "disabled"', "full_name", "opening_balance: NotRequired[Annotated[str, Field(pattern=r\"^[0-9]{1,9}(\\.[0-9]{1,2})?$\")]]",  # noqa: E501
        'balance: Annotated[str, Field(pattern=r"^[0-9]+\\.[0-9]{2}$")]\n    avatar_url: str | None'),
    2: ('ACTIVE = "active"\n    DISABLED = "disabled"', "name", "opening_balance: NotRequired[Annotated[str, Field(pattern=r\"^[0-9]{1,9}(\\.[0-9]{1,2})?$\")]]",  # noqa: E501
        'balance: Annotated[str, Field(pattern=r"^[0-9]+\\.[0-9]{2}$")]\n    avatar_url: str | None'),
    3: ('ACTIVE = "active"\n    SUSPENDED = "suspended"', "name", "opening_balance: NotRequired[Annotated[str, Field(pattern=r\"^[0-9]{1,9}(\\.[0-9]{1,2})?$\")]]",  # noqa: E501
        'balance: Annotated[str, Field(pattern=r"^[0-9]+\\.[0-9]{2}$")]'),
    4: ('ACTIVE = "active"\n    SUSPENDED = "suspended"', "name",
        "opening_balance_cents: NotRequired[Annotated[int, Ge(0)]]",
        "balance_cents: Annotated[int, Ge(0)]"),
}  # fmt: skip

APP: Final = '''\
"""The benchmark app at version {version}."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, NotRequired

from annotated_types import Ge, MaxLen, MinLen
from pydantic import Field
from typing_extensions import TypedDict

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get, post


class UserStatus(StrEnum):
    {statuses}


class NewUser(TypedDict):
    {name}: Annotated[str, MinLen(1), MaxLen(120)]
    email: Annotated[str, Field(pattern=r"^[^@\\s]+@[^@\\s]+$")]
    status: NotRequired[UserStatus]
    {opening}


class User(TypedDict):
    id: int
    {name}: str
    email: str
    status: UserStatus
    {balance}


@post("/users", status=201)
async def create_user(req: Request[NewUser], res: Response[User], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.status(201).json({create})


@get("/users/{{id:int}}")
async def get_user(req: Request[None], res: Response[User], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json({got})
'''

CREATE: Final = {
    "old": '{{"id": 1, "{name}": req.body["{name}"], "email": req.body["email"], "status": req.body.get("status", UserStatus.ACTIVE), "balance": req.body.get("opening_balance", "0.00"){avatar}}}',  # noqa: E501
    "new": '{"id": 1, "name": req.body["name"], "email": req.body["email"], "status": req.body.get("status", UserStatus.ACTIVE), "balance_cents": req.body.get("opening_balance_cents", 0)}',  # noqa: E501
}
GOT: Final = {
    "old": '{{"id": req.params["id"], "{name}": "Ada Lovelace", "email": "ada@example.org", "status": UserStatus.ACTIVE, "balance": "0.50"{avatar}}}',  # noqa: E501
    "new": '{"id": req.params["id"], "name": "Ada Lovelace", "email": "ada@example.org", "status": UserStatus.ACTIVE, "balance_cents": 50}',  # noqa: E501
}


def app_source(version: int) -> str:
    statuses, name, opening, balance = MODELS[version]
    kind = "new" if version == 4 else "old"
    avatar = ', "avatar_url": None' if version < 3 else ""
    create = CREATE[kind].format(name=name, avatar=avatar) if kind == "old" else CREATE[kind]
    got = GOT[kind].format(name=name, avatar=avatar) if kind == "old" else GOT[kind]
    return APP.format(version=DATES[version - 1], statuses=statuses, name=name, opening=opening, balance=balance,
                      create=create, got=got)  # fmt: skip


# the transformers, one module per step, as the brief's design writes them (wire form)
STEP_HEAD: Final = """\
from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from gati_runtime_min.timescape import downgrade_response, upgrade_request

if TYPE_CHECKING:
    from gati_versions.steps.{handler}__{slug} import NewRequest, NewResponse, OldRequest, OldResponse
"""
UPGRADES: Final = {
    1: 'body = dict(request["body"])\n    body["name"] = body.pop("full_name")\n    return {"body": body}',
    2: 'body = dict(request["body"])\n    if body.get("status") == "disabled":\n        body["status"] = "suspended"\n    return {"body": body}',  # noqa: E501
    3: 'body = dict(request["body"])\n    if "opening_balance" in body:\n        body["opening_balance_cents"] = int(Decimal(body.pop("opening_balance")) * 100)\n    return {"body": body}',  # noqa: E501
}
DOWNGRADES: Final = {
    1: 'user = dict(response)\n    user["full_name"] = user.pop("name")\n    return user',
    2: 'user = dict(response)\n    if user["status"] == "suspended":\n        user["status"] = "disabled"\n    user["avatar_url"] = None\n    return user',  # noqa: E501
    3: 'user = dict(response)\n    cents = user.pop("balance_cents")\n    user["balance"] = f"{cents // 100}.{cents % 100:02d}"\n    return user',  # noqa: E501
}


def step_source(handler: str, step: int) -> str:
    from gati_compiler.timescape.steps import version_slug

    tsv = TSVS[step - 1]
    text = STEP_HEAD.format(handler=handler, slug=version_slug(tsv))
    if handler == "create_user":
        text += f'\n\n@upgrade_request("{handler}", "{tsv}")\ndef {handler}_from_v{step}(request: OldRequest) -> NewRequest:\n'  # noqa: E501
        text += f"    {UPGRADES[step]}\n"
    text += f'\n\n@downgrade_response("{handler}", "{tsv}")\ndef {handler}_to_v{step}(response: NewResponse) -> OldResponse:\n'  # noqa: E501
    return text + f"    {DOWNGRADES[step]}\n"


def _gatic(project: Path, *args: str, at: str | None = None) -> None:
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT)}
    if at is not None:
        env["GATI_TIMESCAPE_AT"] = at
    cmd = [sys.executable, "-c", "from gati_compiler.cli import run; run()", *args]
    done = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise SystemExit(f"gatic {' '.join(args)} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")


def gati_build(root: Path) -> Path:
    """Record v1..v3, write v4 and the transformers, build; the `.gati/` folder."""
    project = root / "benchaccounts_project"
    pkg = project / "benchaccounts"
    (pkg / "transformers").mkdir(parents=True)
    (project / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (pkg / "__init__.py").write_text("", encoding="utf-8")
    for version in (1, 2, 3):
        (pkg / "handlers.py").write_text(app_source(version), encoding="utf-8")
        _gatic(project, "version", "record", ".", "--tag", f"v{version}", at=TSVS[version - 1])
    (pkg / "handlers.py").write_text(app_source(4), encoding="utf-8")
    _gatic(project, "version", "record", ".", "--tag", "v4", at=TSVS[3])
    (pkg / "transformers" / "__init__.py").write_text("", encoding="utf-8")
    for handler in ("create_user", "get_user"):
        for step in (1, 2, 3):
            (pkg / "transformers" / f"{handler}__v{step}.py").write_text(step_source(handler, step), encoding="utf-8")
    _gatic(project, "build", ".")
    build = project / ".gati"
    if not (build / "timescape" / "serving.json").is_file():
        raise SystemExit(
            "the build wrote no .gati/timescape/serving.json: this checkout has no Timescape transformer "
            "support yet (issue 12); run with --only cadwyn"
        )
    sys.path.insert(0, str(project))  # the runtime imports the transformers from the app's sources
    return build


def gati_app(build: Path) -> ASGIApp:
    from gati_runtime_min import GatiApp

    app: ASGIApp = GatiApp(build)
    return app


# ---------------------------------------------------------------- driver
def scope_for(method: str, path: str, body: bytes, header: bytes, version: str) -> dict[str, Any]:
    headers = [(b"host", b"bench"), (b"accept", b"*/*"), (header, version.encode())]
    if method == "POST":
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"", "headers": headers,
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
    }  # fmt: skip


async def measure(app: ASGIApp, scope: dict[str, Any], body: bytes, n: int) -> tuple[float, int, bytes]:
    """Microseconds per request over `n` calls (a fresh shallow copy of the scope each time)."""
    body_msg = {"type": "http.request", "body": body, "more_body": False}
    status = 0
    chunks: list[bytes] = []

    async def receive() -> Any:
        return body_msg

    async def send(message: Any) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            chunks.clear()
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    copy = scope.copy
    clock = CLOCK[0]
    t0 = clock()
    for _ in range(n):
        await app(copy(), receive, send)
    return (clock() - t0) / n * 1e6, status, b"".join(chunks)


class Contender:
    def __init__(
        self, name: str, app: ASGIApp, header: bytes, versions: tuple[str, str], *, n: int, old: bool = True
    ) -> None:
        self.name, self.app, self.n = name, app, n
        current, old_version = versions
        self.scopes: dict[str, tuple[dict[str, Any], bytes]] = {}
        for label, method, path, body, *_ in CASES:
            if label.endswith(" v1") and not old:
                continue
            raw = json.dumps(body).encode() if body is not None else b""
            version = old_version if label.endswith(" v1") else current
            self.scopes[label] = (scope_for(method, path, raw, header, version), raw)

    async def check(self) -> None:
        """Every case answers its version's JSON (also the warm-up)."""
        for label, _, _, _, want, expected in CASES:
            if label not in self.scopes:
                continue
            scope, raw = self.scopes[label]
            _, status, out = await measure(self.app, scope, raw, 200)
            if status != want or json.loads(out) != expected:
                raise SystemExit(f"{self.name} {label}: {status} {out[:400]!r}, expected {want} {expected}")

    def pairs(self) -> list[tuple[str, ...]]:
        """The cases of each route, current first."""
        routes: dict[str, list[str]] = {}
        for label in self.scopes:
            routes.setdefault(label.rsplit(" ", 1)[0], []).append(label)
        return [tuple(labels) for labels in routes.values()]

    async def run(self, label: str, n: int) -> float:
        scope, raw = self.scopes[label]
        us, _, _ = await measure(self.app, scope, raw, n)
        return us

    async def run_pair(self, pair: tuple[str, ...], flip: bool) -> list[float]:
        """The cases of `pair` in alternating blocks (BLOCKS of them, `n` requests per case in
        all; `flip`: the second case first): microseconds per request of each."""
        size = max(1, self.n // BLOCKS)
        totals = [0.0] * len(pair)
        for i in range(BLOCKS):
            for k in range(len(pair))[:: -1 if (i % 2 == 1) != flip else 1]:
                totals[k] += await self.run(pair[k], size)
        return [t / BLOCKS for t in totals]


async def _lifespan_startup(app: Any) -> None:
    startup = getattr(app, "startup", None)
    if startup is not None:
        await startup()


async def main(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="gati-bench-xf-") as tmp:
        cadwyn_n = args.cadwyn_n or max(1, args.n // 3)
        contenders = [
            Contender("cadwyn", cadwyn_app(), b"x-api-version", (DATES[3], DATES[0]), n=cadwyn_n),
            Contender("fastapi", fastapi_app(), b"x-api-version", (DATES[3], DATES[0]), old=False, n=cadwyn_n),
        ]
        if args.only != "cadwyn":
            app = gati_app(gati_build(Path(tmp)))
            await _lifespan_startup(app)
            contenders.insert(0, Contender("gati", app, b"x-gati-version", (TSVS[3], TSVS[0]), n=args.n))
        for c in contenders:
            await c.check()
        # samples[app][case]: microseconds per request, one per round
        samples: dict[str, dict[str, list[float]]] = {c.name: {label: [] for label in c.scopes} for c in contenders}
        for r in range(args.rounds):
            # Interleaved: each round the apps start in turn, and an app's current and v1 cases of
            # a route alternate in small blocks, so a slow spell of the machine falls on both
            # cases of a pair alike and the per-round difference cancels it.
            for c in contenders[r % len(contenders) :] + contenders[: r % len(contenders)]:
                for pair in c.pairs():
                    for label, us in zip(pair, await c.run_pair(pair, r % 2 == 1), strict=True):
                        samples[c.name][label].append(us)
    return summarize(samples, args, cadwyn_n)


def _stats(values: list[float]) -> dict[str, float]:
    """Median, extremes and the count of per-round values (a round's value comes from cells run
    back to back)."""
    ordered = sorted(values)
    return {"median": statistics.median(ordered), "min": ordered[0], "max": ordered[-1], "rounds": len(ordered)}


def verdict(values: list[float] | None, goal: float) -> str:
    """By the median of the per-round values, with how many rounds are within the goal."""
    if not values:
        return "not measurable"
    within = sum(v <= goal for v in values)
    return f"{'met' if statistics.median(values) <= goal else 'not met'}, {within}/{len(values)} rounds within"


def summarize(samples: dict[str, dict[str, list[float]]], args: argparse.Namespace, cadwyn_n: int) -> dict[str, Any]:
    best = {name: {label: min(v) for label, v in cells.items()} for name, cells in samples.items()}
    out: dict[str, Any] = {
        "n": args.n,
        "cadwyn_n": cadwyn_n,
        "rounds": args.rounds,
        "python": sys.version.split()[0],
        "clock": "cpu" if CLOCK[0] is time.process_time else "wall",
        "apps": best,
        "samples": samples,
    }
    for route in ("POST /users", "GET /users/{id}"):
        row: dict[str, Any] = {}
        added: dict[str, list[float]] = {}  # per round, v1 minus current
        over: dict[str, list[float]] = {}  # per round, v1 over current
        for name in ("gati", "cadwyn"):
            if name in best:
                current, old = samples[name][f"{route} current"], samples[name][f"{route} v1"]
                added[name] = [o - c for o, c in zip(old, current, strict=True)]
                over[name] = [o / c for o, c in zip(old, current, strict=True)]
                row[f"{name}_added_us"] = _stats(added[name])
                row[f"{name}_old_over_current"] = _stats(over[name])
        # Cadwyn runs its version machinery on every request, the latest version's too: what it
        # adds to an old-version request over the same app unversioned (plain FastAPI)
        fastapi = samples["fastapi"][f"{route} current"]
        cadwyn_current, cadwyn_old = samples["cadwyn"][f"{route} current"], samples["cadwyn"][f"{route} v1"]
        versioning = [o - f for o, f in zip(cadwyn_old, fastapi, strict=True)]
        row["cadwyn_versioning_us"] = _stats(versioning)
        row["cadwyn_current_over_fastapi"] = _stats([c / f for c, f in zip(cadwyn_current, fastapi, strict=True)])
        if "gati" in added:
            g = added["gati"]
            # per round: Gati's added cost over Cadwyn's, which only means something where Cadwyn's
            # is positive (a round where it is not counts as not within the goal)
            paired = [a / b if b > 0 else float("inf") for a, b in zip(g, added["cadwyn"], strict=True)]
            finite = [p for p in paired if p != float("inf")]
            row["cadwyn_added_positive_rounds"] = len(finite)
            row["added_gati_over_cadwyn"] = _stats(finite) if finite else None
            over_versioning = [a / b for a, b in zip(g, versioning, strict=True)]
            row["added_gati_over_cadwyn_versioning"] = _stats(over_versioning)
            row["verdict_old_over_current"] = verdict(over["gati"], GOAL_OLD_OVER_CURRENT)
            row["verdict_added_vs_cadwyn"] = verdict(paired, GOAL_ADDED_VS_CADWYN)
            row["verdict_added_vs_cadwyn_versioning"] = verdict(over_versioning, GOAL_ADDED_VS_CADWYN)
        out[route] = row
    return out


def _span(stats: Mapping[str, float] | None, fmt: str) -> str:
    if stats is None:
        return "n/a"
    return f"{stats['median']:{fmt}} [{stats['min']:{fmt}}..{stats['max']:{fmt}}]"


def report(result: dict[str, Any]) -> None:
    print(
        f"in-process, {result['rounds']} interleaved rounds of {result['n']} requests per cell (Cadwyn and FastAPI: "
        f"{result['cadwyn_n']}), Python {result['python']}, {result['clock']} clock; us per request, the best round"
    )
    print("'v1' is a client three versions behind: three transformer steps each way on both apps")
    labels = [c[0] for c in CASES]
    print(f"{'app':<10}" + "".join(f"{lbl:>26}" for lbl in labels))
    for name, cells in result["apps"].items():
        print(f"{name:<10}" + "".join(f"{cells[lbl]:>26.2f}" if lbl in cells else f"{'-':>26}" for lbl in labels))
    print("\nper-round figures: median [min..max] over the rounds, each from the two interleaved cases of one round")
    for route in ("POST /users", "GET /users/{id}"):
        row = result[route]
        print(f"{route}:")
        if "gati_added_us" in row:
            print(
                f"  gati adds {_span(row['gati_added_us'], '.2f')} us, old/current "
                f"{_span(row['gati_old_over_current'], '.2f')}x (goal <= {GOAL_OLD_OVER_CURRENT}x: "
                f"{row['verdict_old_over_current']})"
            )
        print(
            f"  cadwyn adds {_span(row['cadwyn_added_us'], '.1f')} us over its current version "
            f"({_span(row['cadwyn_old_over_current'], '.2f')}x), {_span(row['cadwyn_versioning_us'], '.1f')} us over "
            f"plain FastAPI (its current version costs {_span(row['cadwyn_current_over_fastapi'], '.2f')}x FastAPI's)"
        )
        if "gati_added_us" in row:
            rounds = f"{row['cadwyn_added_positive_rounds']}/{result['rounds']}"
            print(
                f"  gati/cadwyn added cost {_span(row['added_gati_over_cadwyn'], '.3f')} (rounds where Cadwyn's is "
                f"positive: {rounds}; goal <= {GOAL_ADDED_VS_CADWYN:.2f}: {row['verdict_added_vs_cadwyn']}); "
                f"against Cadwyn over FastAPI {_span(row['added_gati_over_cadwyn_versioning'], '.4f')} "
                f"({row['verdict_added_vs_cadwyn_versioning']})"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000, help="requests per cell and round")
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds (per-round medians and ranges)")
    parser.add_argument("--cadwyn-n", type=int, default=0, help="requests per Cadwyn/FastAPI cell (default: n/3)")
    parser.add_argument("--only", choices=["all", "cadwyn"], default="all", help="cadwyn: the peer alone")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall", help="cpu: this process's CPU time")
    parsed = parser.parse_args()
    if parsed.clock == "cpu":
        CLOCK[0] = time.process_time
    result = asyncio.run(main(parsed))
    if parsed.json:
        print(json.dumps(result, indent=2, sort_keys=True))
    else:
        report(result)
