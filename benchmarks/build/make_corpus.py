"""Generate the build-benchmark corpus: a realistic Gati app of 200 handler modules.

The output is a pure function of the seed and the module count, so two runs give the same bytes.
Layout of the generated project (default `<system temp folder>/gati-bench-corpus/app`: a cold
build creates about 750 files, and a checkout may sit on a filesystem that is slow to create files,
such as a watched or network folder, which the build benchmark would then measure instead of the
compiler; `--out` / `--corpus` put it anywhere):

    pyproject.toml              [tool.gati] with global hooks, auth, server, deploy and config
    corpusapp/__init__.py
    corpusapp/models.py         shared types: Page[T], Money, Address, Region, Row, a recursive Node
    corpusapp/db.py             the `db` module (@module("db")) the handlers reach via gctx.modules
    corpusapp/hooks.py          global hooks
    corpusapp/checks.py         route hooks handlers attach by name
    corpusapp/handlers/<domain>_<nnn>.py   200 handler modules of about 90 lines, 3-5 handlers each

Usage:
    python benchmarks/build/make_corpus.py [--out DIR] [--modules N] [--seed S] [--check]

`--check` builds the result with `gati_compiler.pipeline.build` and fails unless it has zero
diagnostics.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

REPO: Final = Path(__file__).resolve().parents[2]
DEFAULT_OUT: Final = Path(tempfile.gettempdir()) / "gati-bench-corpus" / "app"
DEFAULT_MODULES: Final = 200
DEFAULT_SEED: Final = 20240611
PACKAGE: Final = "corpusapp"

# (plural path segment, singular class stem)
DOMAINS: Final = (
    ("widgets", "Widget"),
    ("invoices", "Invoice"),
    ("tickets", "Ticket"),
    ("shipments", "Shipment"),
    ("accounts", "Account"),
    ("reviews", "Review"),
    ("coupons", "Coupon"),
    ("devices", "Device"),
    ("projects", "Project"),
    ("tasks", "Task"),
    ("teams", "Team"),
    ("events", "Event"),
    ("payments", "Payment"),
    ("subscriptions", "Subscription"),
    ("warehouses", "Warehouse"),
    ("suppliers", "Supplier"),
    ("customers", "Customer"),
    ("messages", "Message"),
    ("reports", "Report"),
    ("assets", "Asset"),
)
STATES: Final = (
    ("draft", "active", "archived"),
    ("open", "pending", "closed", "rejected"),
    ("new", "in_progress", "done"),
    ("queued", "running", "failed", "succeeded"),
    ("requested", "approved", "denied"),
)
KINDS: Final = (
    ("standard", "premium", "trial"),
    ("internal", "external"),
    ("low", "medium", "high", "urgent"),
    ("manual", "scheduled", "automatic"),
)
ROLES: Final = ("admin", "editor", "manager", "support", "billing", "auditor")
RATE_LIMITS: Final = ("30/minute", "100/minute", "5/second", "1000/hour", "20/10 seconds", "10000/day")
TIMEOUTS: Final = ("1.5", "2.5", "5", "0.75", "10.0")
_SHARED: Final = ("Address", "AuditEntry", "Money", "Node", "Page", "Region")
_DECORATOR: Final = re.compile(r"^@(\w+)\(", re.MULTILINE)
WORDS: Final = (
    "catalogue",
    "back office",
    "partner",
    "mobile",
    "reporting",
    "self-service",
    "billing",
    "operations",
)


@dataclass(frozen=True)
class Spec:
    """What one handler module is about."""

    index: int
    plural: str
    stem: str
    states: tuple[str, ...]
    kinds: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{self.plural}_{self.index:03d}"

    @property
    def prefix(self) -> str:
        return f"/v{self.index:03d}/{self.plural}"

    @property
    def suffix(self) -> str:
        return f"{self.index:03d}"


PYPROJECT: Final = f"""\
[project]
name = "corpusapp"
version = "0.1.0"
description = "Generated benchmark corpus for `gatic build`"
requires-python = ">=3.11"

[tool.gati]
name = "corpusapp"
sources = ["."]
exclude = ["tests/*"]
global_hooks = ["{PACKAGE}.hooks"]

[tool.gati.auth.api_keys]
header = "x-api-key"
keys_env = "CORPUS_API_KEYS"

[tool.gati.server]
max_body_bytes = 262144
request_timeout = 15.0

[tool.gati.deploy]
image = "ghcr.io/example/corpusapp:0.1.0"
replicas = 3

[tool.gati.config]
currency = "EUR"
max_page_size = 100
"""

MODELS: Final = '''\
"""Types shared by every handler module of the corpus."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Generic, Literal, NotRequired, TypedDict, TypeVar

from annotated_types import Ge, MaxLen, MinLen
from pydantic import BaseModel, Field

T = TypeVar("T")

Currency = Literal["EUR", "USD", "GBP", "CHF"]
Scalar = str | int | float | bool | None
Row = dict[str, Scalar]
"""One stored record, as the `db` module returns it."""

Slug = Annotated[str, Field(pattern=r"^[a-z0-9-]+$")]


class Region(StrEnum):
    """Where a record is hosted."""

    EU = "eu"
    US = "us"
    APAC = "apac"


class Money(TypedDict):
    """An amount in minor units and an ISO 4217 currency."""

    amount: Annotated[int, Ge(0)]
    currency: Currency


class Address(TypedDict):
    name: Annotated[str, MinLen(1), MaxLen(120)]
    street: str
    city: str
    postcode: Annotated[str, MinLen(3), MaxLen(10)]
    country: Annotated[str, MinLen(2), MaxLen(2)]
    region: NotRequired[Region]


class Page(TypedDict, Generic[T]):
    """One page of a listing."""

    items: list[T]
    total: Annotated[int, Ge(0)]
    next_offset: int | None


class Node(TypedDict):
    """A node of a tree of labels; nodes nest without limit."""

    slug: Slug
    label: str
    children: list[Node]


@dataclass
class AuditEntry:
    """Who changed what, and when."""

    actor: str
    action: Literal["create", "update", "delete"]
    at: datetime
    reason: str | None = None


class Tenant(BaseModel):
    """The customer a request acts for."""

    id: int = Field(ge=1)
    name: str = Field(min_length=1, max_length=80, description="Display name")
    region: Region = Region.EU
    credit: Decimal = Field(default=Decimal(0), ge=0)
'''

DB: Final = f'''\
"""The storage module every handler reaches as `gctx.modules["db"]`."""

from __future__ import annotations

import asyncio

from gati_runtime_min import module

from {PACKAGE}.models import Row


@module("db", capabilities=["db.read", "db.write"], egress=["postgres.internal:5432"])
class Database:
    """Tables of rows kept in memory, guarded by one lock."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._tables: dict[str, dict[int, Row]] = {{}}
        self._next = 1

    async def fetch(self, table: str, key: int) -> Row | None:
        return self._tables.get(table, {{}}).get(key)

    async def select(self, table: str, limit: int, offset: int) -> list[Row]:
        rows = self._tables.get(table, {{}})
        return [rows[k] for k in sorted(rows)][offset : offset + limit]

    async def count(self, table: str) -> int:
        return len(self._tables.get(table, {{}}))

    async def insert(self, table: str, row: Row) -> Row:
        async with self._lock:
            stored: Row = {{**row, "id": self._next}}
            self._tables.setdefault(table, {{}})[self._next] = stored
            self._next += 1
            return stored

    async def update(self, table: str, key: int, changes: Row) -> Row | None:
        async with self._lock:
            row = self._tables.get(table, {{}}).get(key)
            if row is None:
                return None
            row.update(changes)
            return row

    async def delete(self, table: str, key: int) -> bool:
        async with self._lock:
            return self._tables.get(table, {{}}).pop(key, None) is not None
'''

HOOKS: Final = '''\
"""Global hooks (listed in `[tool.gati].global_hooks`), run around every handler."""

from __future__ import annotations

import time
from typing import Any

from gati_runtime_min import GlobalContext, LocalContext, Request, Response, after, before


@before
def start_timer(req: Request[Any], res: Response[Any], lctx: LocalContext, gctx: GlobalContext) -> None:
    """Remember when the request started."""
    lctx.set("started", time.perf_counter())


@after(timeout=1.0)
def server_timing(req: Request[Any], res: Response[Any], lctx: LocalContext, gctx: GlobalContext) -> None:
    """Report the handler time in the `Server-Timing` header."""
    started = lctx.get("started")
    if isinstance(started, float):
        res.header("server-timing", f"app;dur={(time.perf_counter() - started) * 1000:.2f}")
'''

CHECKS: Final = '''\
"""Route hooks that handler modules attach by name."""

from __future__ import annotations

from typing import Any

from gati_runtime_min import GlobalContext, HTTPError, LocalContext, Request, Response, after, before, catch


@before(timeout=0.5)
async def require_tenant(req: Request[Any], res: Response[Any], lctx: LocalContext, gctx: GlobalContext) -> None:
    """Reject a request that does not name a tenant."""
    tenant = req.headers.get("x-tenant")
    if not tenant or not tenant.isdigit():
        raise HTTPError(400, "missing_tenant", "send the tenant id in `x-tenant`")
    lctx.set("tenant", int(tenant))


@after
def audit(req: Request[Any], res: Response[Any], lctx: LocalContext, gctx: GlobalContext) -> None:
    """Log every change."""
    lctx.log("changed", method=req.method, path=req.path)


@catch(retries=1)
def report_failure(
    error: Exception, req: Request[Any], res: Response[Any], lctx: LocalContext, gctx: GlobalContext
) -> None:
    """Count failures per error type."""
    lctx.set("failure", type(error).__name__)
'''


def _policy(rng: random.Random, *, write: bool) -> list[str]:
    """Keyword arguments for a route decorator: roles, rate limit, timeout, hooks."""
    kw: list[str] = []
    if write or rng.random() < 0.3:
        roles = rng.sample(ROLES, rng.randint(1, 2))
        kw.append("roles=[" + ", ".join(f'"{r}"' for r in roles) + "]")
    if rng.random() < (0.6 if write else 0.3):
        kw.append(f'rate_limit="{rng.choice(RATE_LIMITS)}"')
    if rng.random() < 0.4:
        kw.append(f"timeout={rng.choice(TIMEOUTS)}")
    if write and rng.random() < 0.5:
        kw.append("before=[require_tenant]")
    if write and rng.random() < 0.5:
        kw.append("after=[audit]")
    if rng.random() < 0.15:
        kw.append("catch=[report_failure]")
    return kw


def _decorator(rng: random.Random, method: str, path: str, *, write: bool, status: int | None = None) -> str:
    kw = _policy(rng, write=write)
    if status is not None:
        kw.append(f"status={status}")
    short = {"GET": "get", "POST": "post"}.get(method)
    if short is not None and rng.random() < 0.6:
        name, args = short, [f'"{path}"', *kw]
    else:
        name, args = "handler", [f'"{method}"', f'"{path}"', *kw]
    one_line = f"@{name}({', '.join(args)})"
    if len(one_line) <= 120:
        return one_line
    inner = f"    {', '.join(args)}"
    if len(inner) <= 120:
        return "\n".join([f"@{name}(", inner, ")"])
    return "\n".join([f"@{name}(", *(f"    {a}," for a in args), ")"])


def _db(rng: random.Random) -> str:
    return 'gctx.modules["db"]' if rng.random() < 0.75 else "gctx.modules.db"


def _sig(body: str, out: str) -> str:
    return f"req: Request[{body}], res: Response[{out}], lctx: LocalContext, gctx: GlobalContext"


def _def(name: str, body: str, out: str, *, is_async: bool = True) -> list[str]:
    """A handler `def` line, wrapped the way ruff format would when it is too long."""
    kw = "async def" if is_async else "def"
    line = f"{kw} {name}({_sig(body, out)}) -> None:"
    if len(line) <= 120:
        return [line]
    return [f"{kw} {name}(", f"    {_sig(body, out)}", ") -> None:"]


def _handler_list(rng: random.Random, s: Spec) -> list[str]:
    return [
        _decorator(rng, "GET", s.prefix, write=False),
        *_def(f"list_{s.plural}_{s.suffix}", f"None, {s.stem}Query", f"Page[{s.stem}]"),
        f'    """List {s.plural}, newest first, optionally filtered by state and region."""',
        "    query = req.query",
        f'    rows = await {_db(rng)}.select("{s.plural}", query.limit, query.offset)',
        f'    total = await gctx.modules["db"].count("{s.plural}")',
        '    res.json({"items": rows, "total": total, "next_offset": query.offset + len(rows) if rows else None})',
    ]


def _handler_get(rng: random.Random, s: Spec) -> list[str]:
    one = s.stem.lower()
    return [
        _decorator(rng, "GET", s.prefix + "/{id:int}", write=False),
        *_def(f"get_{one}_{s.suffix}", "None", s.stem),
        f'    """Fetch one {one} by id."""',
        f'    row = await {_db(rng)}.fetch("{s.plural}", req.params["id"])',
        "    if row is None:",
        f'        raise HTTPError(404, "{one}_not_found", f"no {one} with id {{req.params[\'id\']}}")',
        "    res.json(row)",
    ]


def _handler_create(rng: random.Random, s: Spec) -> list[str]:
    one = s.stem.lower()
    return [
        _decorator(rng, "POST", s.prefix, write=True, status=201),
        *_def(f"create_{one}_{s.suffix}", f"New{s.stem}", s.stem),
        f'    """Create {"an" if one[0] in "aeiou" else "a"} {one} in the current tenant."""',
        f'    stored = await {_db(rng)}.insert("{s.plural}", {{**req.body, "tenant": lctx.get("tenant")}})',
        f'    res.status(201).header("location", f"{s.prefix}/{{stored[\'id\']}}").json(stored)',
    ]


def _handler_update(rng: random.Random, s: Spec) -> list[str]:
    one = s.stem.lower()
    return [
        _decorator(rng, "PATCH", s.prefix + "/{id:int}", write=True),
        *_def(f"update_{one}_{s.suffix}", f"{s.stem}Patch", s.stem),
        f'    """Change some fields of a {one}; absent fields stay as they are."""',
        "    changes = req.body.model_dump(exclude_none=True)",
        f'    row = await {_db(rng)}.update("{s.plural}", req.params["id"], changes)',
        "    if row is None:",
        f'        raise HTTPError(404, "{one}_not_found", "no such {one}")',
        "    res.json(row)",
    ]


def _handler_summary(rng: random.Random, s: Spec) -> list[str]:
    one = s.stem.lower()
    return [
        _decorator(rng, "GET", f"/v{s.suffix}/{one}-summary/{{region}}", write=False),
        *_def(f"summary_{s.suffix}", "None", f"{s.stem}Summary", is_async=False),
        f'    """Counts of {s.plural} per state in one region."""',
        '    res.json({"region": req.params["region"], "by_state": {}, "recent": [], "tree": None})',
    ]


def _handler_lookup(rng: random.Random, s: Spec) -> list[str]:
    one = s.stem.lower()
    return [
        _decorator(rng, "POST", s.prefix + "/by-ref/{ref:uuid}", write=False),
        *_def(f"lookup_{one}_{s.suffix}", f"{s.stem}Lookup", f"list[{s.stem}]"),
        f'    """Find {s.plural} by external reference."""',
        f"    db = {_db(rng)}",
        f'    rows = await db.select("{s.plural}", req.body.limit, 0)',
        '    res.json([r for r in rows if r.get("ref") == str(req.params["ref"])])',
    ]


def _doc(rng: random.Random, line: str) -> list[str]:
    """A class docstring and the blank line after it, in about half the classes."""
    return [line, ""] if rng.random() < 0.5 else []


def _types(rng: random.Random, s: Spec, *, summary: bool, lookup: bool) -> list[str]:
    one = s.stem.lower()
    state_members = [f'    {st.upper()} = "{st}"' for st in s.states]
    kinds = ", ".join(f'"{k}"' for k in s.kinds)
    max_name = rng.choice((40, 80, 120, 200))
    max_qty = rng.choice((100, 1000, 10000))
    lines = [
        f"{s.stem}Kind = Literal[{kinds}]",
        "",
        "",
        f"class {s.stem}State(StrEnum):",
        *_doc(rng, f'    """Lifecycle of a {one}."""'),
        *state_members,
        "",
        "",
        f"class New{s.stem}(TypedDict):",
        *_doc(rng, f'    """What a client sends to create a {one}."""'),
        f"    name: Annotated[str, MinLen(1), MaxLen({max_name})]",
        f"    kind: {s.stem}Kind",
        "    price: Money",
        f"    quantity: Annotated[int, Ge(0), Le({max_qty})]",
        "    labels: NotRequired[Annotated[list[Annotated[str, MaxLen(24)]], MaxLen(10)]]",
        "    ship_to: NotRequired[Optional[Address]]",
        "",
        "",
        f"class {s.stem}(New{s.stem}):",
        "    id: int",
        f"    state: {s.stem}State",
        "    created_at: datetime",
        "    attributes: dict[str, list[int]]",
        *(["    history: NotRequired[list[AuditEntry]]"] if rng.random() < 0.5 else []),
        "",
        "",
        "@dataclass",
        f"class {s.stem}Query:",
        f"    state: Optional[{s.stem}State] = None",
        "    region: Region | None = None",
        "    limit: Annotated[int, Ge(1), Le(100)] = 20",
        "    offset: Annotated[int, Ge(0)] = 0",
        "",
        "",
        f"class {s.stem}Patch(BaseModel):",
        *_doc(rng, f'    """Fields to change on a {one}."""'),
        f"    name: str | None = Field(default=None, min_length=1, max_length={max_name})",
        f"    quantity: int | None = Field(default=None, ge=0, le={max_qty})",
        '    note: str = Field(default="", max_length=500, description="Free text for the audit log")',
    ]
    if summary:
        lines += [
            "",
            "",
            f"class {s.stem}Summary(TypedDict):",
            "    region: Region",
            f"    by_state: dict[{s.stem}State, int]",
            f"    recent: list[tuple[int, {s.stem}Kind]]",
            "    tree: Node | None",
        ]
    if lookup:
        lines += [
            "",
            "",
            f"class {s.stem}Lookup(BaseModel):",
            '    model_config = ConfigDict(extra="forbid")',
            "",
            "    limit: Annotated[int, Field(ge=1, le=50)] = 10",
            "    include_archived: bool = False",
        ]
    return lines


def _used(names: tuple[str, ...], text: str) -> list[str]:
    return [n for n in names if re.search(rf"\b{n}\b", text)]


def module_source(rng: random.Random, s: Spec) -> str:
    """The text of one handler module; it imports exactly the names it uses."""
    makers: list[Callable[[random.Random, Spec], list[str]]] = [_handler_list, _handler_get]
    optional: list[Callable[[random.Random, Spec], list[str]]] = [
        _handler_create,
        _handler_update,
        _handler_summary,
        _handler_lookup,
    ]
    makers += rng.sample(optional, rng.choices((1, 2, 3), weights=(55, 35, 10))[0])
    body = _types(rng, s, summary=_handler_summary in makers, lookup=_handler_lookup in makers)
    for make in makers:
        body += ["", "", *make(rng, s)]
    text = "\n".join(body)
    typing_names = _used(("Annotated", "Literal", "NotRequired", "Optional", "TypedDict"), text)
    runtime_names = _used(("GlobalContext", "HTTPError", "LocalContext", "Request", "Response"), text)
    runtime_names += _used(("delete", "get", "handler", "patch", "post", "put"), "\n".join(_DECORATOR.findall(text)))
    head = [
        f'"""{s.stem} endpoints, shard {s.suffix}: the {rng.choice(WORDS)} API for {s.plural}."""',
        "",
        "from __future__ import annotations",
        "",
        "from dataclasses import dataclass",
        "from datetime import datetime",
        "from enum import StrEnum",
        f"from typing import {', '.join(typing_names)}",
        "",
        f"from annotated_types import {', '.join(_used(('Ge', 'Le', 'MaxLen', 'MinLen'), text))}",
        f"from pydantic import {', '.join(_used(('BaseModel', 'ConfigDict', 'Field'), text))}",
        "",
        f"from gati_runtime_min import {', '.join(runtime_names)}",
        "",
    ]
    checks = [n for n in ("audit", "report_failure", "require_tenant") if f"[{n}]" in text]
    if checks:
        head.append(f"from {PACKAGE}.checks import {', '.join(checks)}")
    head.append(f"from {PACKAGE}.models import {', '.join(_used(_SHARED, text))}")
    return "\n".join([*head, "", "", text]) + "\n"


def specs(count: int, rng: random.Random) -> list[Spec]:
    out = []
    for i in range(count):
        plural, stem = DOMAINS[i % len(DOMAINS)]
        out.append(Spec(i, plural, stem, rng.choice(STATES), rng.choice(KINDS)))
    return out


def generate(out: Path, *, modules: int = DEFAULT_MODULES, seed: int = DEFAULT_SEED) -> list[Path]:
    """Write the corpus into `out` (replacing it) and return the paths of the .py files written."""
    if out.exists():
        shutil.rmtree(out)
    pkg = out / PACKAGE
    (pkg / "handlers").mkdir(parents=True)
    files: dict[Path, str] = {
        out / "pyproject.toml": PYPROJECT,
        pkg / "__init__.py": '"""A generated Gati app used to benchmark `gatic build`."""\n',
        pkg / "models.py": MODELS,
        pkg / "db.py": DB,
        pkg / "hooks.py": HOOKS,
        pkg / "checks.py": CHECKS,
        pkg / "handlers" / "__init__.py": '"""Handler modules."""\n',
    }
    rng = random.Random(seed)
    for spec in specs(modules, rng):
        files[pkg / "handlers" / f"{spec.name}.py"] = module_source(rng, spec)
    for path, text in files.items():
        path.write_text(text, encoding="utf-8", newline="\n")
    return sorted(p for p in files if p.suffix == ".py")


def check(out: Path) -> int:
    """Build the corpus in-process; print and count its diagnostics."""
    from gati_compiler.pipeline import build

    result = build(out, write=False)
    for d in result.diagnostics:
        print(f"{d.code} {d.severity.name} {d.message}", file=sys.stderr)
    program = result.program
    handlers = len(program.handlers) if program is not None else 0
    print(f"check: {len(result.diagnostics)} diagnostics, {handlers} handlers", file=sys.stderr)
    return len(result.diagnostics)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="target folder (replaced)")
    parser.add_argument("--modules", type=int, default=DEFAULT_MODULES, help="handler modules to generate")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--check", action="store_true", help="build the corpus and fail on any diagnostic")
    args = parser.parse_args(argv)
    paths = generate(args.out, modules=args.modules, seed=args.seed)
    lines = sum(len(p.read_text(encoding="utf-8").splitlines()) for p in paths)
    print(f"wrote {len(paths)} .py files ({lines} lines) into {args.out}")
    if args.check and check(args.out):
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
