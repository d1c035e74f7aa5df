"""lower: handlers, policies, hooks, modules, order and fingerprints."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gati_compiler.ir.canonical import dump_gtype
from gati_compiler.ir.models import Handler, HookDef, Program, RateLimit, SourceRef
from gati_compiler.pipeline import BuildResult

Project = Callable[..., BuildResult]

IMPORTS = (
    "from gati_runtime_min import GlobalContext, LocalContext, Request, Response, handler, get, post, put, patch, "
    "delete, before, after, catch, module\n"
    "from typing import TypedDict\n"
)
SIG = "(req: Request[None], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None"


def build_handlers(project: Project, source: str, config: str | None = None, **files: str) -> Program:
    sources = {
        "app/__init__.py": "",
        "app/handlers.py": IMPORTS + source,
        **{k.replace("__", "/") + ".py": v for k, v in files.items()},
    }
    result = project(sources, config)
    assert result.program is not None, [(d.code, d.message) for d in result.diagnostics]
    assert result.diagnostics == [], [(d.code, d.span.line, d.message) for d in result.diagnostics]
    return result.program


def diagnostics(project: Project, source: str) -> list[tuple[str, int]]:
    result = project({"app/__init__.py": "", "app/handlers.py": IMPORTS + source})
    assert not result.internal_error
    return [(d.code, d.span.line - IMPORTS.count("\n")) for d in result.diagnostics]


def one(program: Program, hid: str) -> Handler:
    return next(h for h in program.handlers if h.handlerId == hid)


# -- ids, methods, paths --------------------------------------------------------------------


def test_ids_methods_and_shortcut_decorators(project: Project) -> None:
    source = "".join(
        f"@{dec}\ndef {name}{SIG}: ...\n"
        for dec, name in [
            ('handler("GET", "/a")', "a"),
            ('handler("post", "/a", id="make_a")', "b"),
            ('handler(method="PUT", path="/a")', "c"),
            ('get("/g")', "g"),
            ('post("/g")', "p"),
            ('put("/g")', "u"),
            ('patch("/g")', "pa"),
            ('delete("/g")', "d"),
        ]
    )
    program = build_handlers(project, source)
    assert sorted((h.handlerId, h.method, h.path, h.function) for h in program.handlers) == [
        ("a", "GET", "/a", "a"),
        ("c", "PUT", "/a", "c"),
        ("d", "DELETE", "/g", "d"),
        ("g", "GET", "/g", "g"),
        ("make_a", "POST", "/a", "b"),
        ("p", "POST", "/g", "p"),
        ("pa", "PATCH", "/g", "pa"),
        ("u", "PUT", "/g", "u"),
    ]
    assert all(h.module == "app.handlers" and h.tags == ("handlers",) for h in program.handlers)


def test_aliased_runtime_imports(project: Project) -> None:
    source = (
        "import gati_runtime_min as g\nfrom gati_runtime_min import handler as h\n"
        '@g.get("/x")\n'
        "def x(req: g.Request[None], res: g.Response[None], lctx: g.LocalContext, gctx: g.GlobalContext)"
        " -> None: ...\n"
        f'@h("GET", "/y")\ndef y{SIG}: ...\n'
    )
    program = build_handlers(project, source)
    assert [h.handlerId for h in program.handlers] == ["x", "y"]


def test_async_summary_description_status(project: Project) -> None:
    source = (
        '@post("/a", status=201, tags=["t1", "t2"])\n'
        "async def a(req: Request[None], res: Response[int], lctx: LocalContext, gctx: GlobalContext) -> None:\n"
        '    """Create an a.\n\n    Longer text.\n    """\n'
        f'@get("/b", summary="Explicit")\ndef b{SIG}:\n    """Doc."""\n'
    )
    program = build_handlers(project, source)
    a, b = one(program, "a"), one(program, "b")
    assert (a.isAsync, a.status, a.summary, a.description, a.tags) == (
        True,
        201,
        "Create an a.",
        "Create an a.\n\nLonger text.",
        ("t1", "t2"),
    )
    # no response body: the success status defaults to 204
    assert (b.isAsync, b.status, b.summary, b.description) == (False, 204, "Explicit", "Doc.")


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/users", None),
        ("/users/{id}", {"id": {"kind": "primitive", "type": "string"}}),
        ("/users/{id:str}", {"id": {"kind": "primitive", "type": "string"}}),
        ("/users/{id:int}", {"id": {"kind": "primitive", "type": "integer"}}),
        ("/users/{id:float}", {"id": {"kind": "primitive", "type": "number"}}),
        ("/users/{id:uuid}", {"id": {"kind": "primitive", "type": "string", "format": "uuid"}}),
        ("/day/{d:date}", {"d": {"kind": "primitive", "type": "string", "format": "date"}}),
        ("/files/{rest:path}", {"rest": {"kind": "primitive", "type": "string"}}),
        (
            "/o/{org}/u/{uid:int}",
            {"org": {"kind": "primitive", "type": "string"}, "uid": {"kind": "primitive", "type": "integer"}},
        ),
    ],
)
def test_path_params_from_converters(project: Project, path: str, params: dict[str, object] | None) -> None:
    h = build_handlers(project, f'@get("{path}")\ndef x{SIG}: ...\n').handlers[0]
    if params is None:
        assert h.gtypes.params is None and h.pathParams == ()
        return
    assert h.gtypes.params is not None
    assert dump_gtype(h.gtypes.params) == {
        "kind": "object",
        "properties": [
            {"name": n, "type": t, "required": True, "hasDefault": False, "readOnly": False} for n, t in params.items()
        ],
        "extra": "forbid",
    }
    assert [p.name for p in h.pathParams] == list(params)


@pytest.mark.parametrize(
    ("decorator", "code"),
    [
        ('@get("/u/{id:integer}")', "GATI106"),
        ('@get("u")', "GATI107"),
        ('@get("/u/{a}/{a}")', "GATI107"),
        ('@get("/u/{p:path}/x")', "GATI107"),
        ('@get("/u/x{id}")', "GATI107"),
        ('@handler("FETCH", "/u")', "GATI111"),
        ('@get("/u", rate_limit="ten per minute")', "GATI105"),
        ('@get("/u", rate_limit="10/fortnight")', "GATI105"),
        ('@get("/u", timeout=0)', "GATI112"),
        ('@get("/u", timeout=-1)', "GATI112"),
        ('@get("/u", colour="red")', "GATI104"),
        ("@get", "GATI104"),
        ('@get("/u", roles="admin")', "GATI104"),
        ("@get(PATH)", "GATI104"),
        ('@get("/u", status=404)', "GATI104"),
    ],
)
def test_bad_decorators_are_diagnostics(project: Project, decorator: str, code: str) -> None:
    found = diagnostics(project, f"{decorator}\ndef x{SIG}: ...\n")
    assert (code, 1) in found, found


def test_param_uses_must_name_path_params(project: Project) -> None:
    source = f'@get("/u/{{id}}")\ndef x{SIG}:\n    a = req.params["id"]\n    b = req.params["nope"]\n'
    assert diagnostics(project, source) == [("GATI304", 4)]


def test_declared_params_type_is_checked_against_the_path(project: Project) -> None:
    source = (
        "class P(TypedDict):\n    id: int\n    extra: str\n"
        '@get("/u/{id:int}")\n'
        "def x(req: Request[None, None, P], res: Response[None], lctx: LocalContext, gctx: GlobalContext)"
        " -> None: ...\n"
    )
    assert [c for c, _ in diagnostics(project, source)] == ["GATI303"]


# -- query ------------------------------------------------------------------------------------


def test_query_type(project: Project) -> None:
    source = (
        "from typing import Literal, NotRequired\n"
        "class Q(TypedDict):\n    page: NotRequired[int]\n    sort: Literal['asc', 'desc']\n    tag: list[str]\n"
        '@get("/items")\n'
        "def x(req: Request[None, Q], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None: ...\n"
    )
    h = build_handlers(project, source).handlers[0]
    assert h.gtypes.query is not None and dump_gtype(h.gtypes.query) == {"kind": "ref", "ref": "Q"}
    assert h.gtypes.request is None


def test_nested_query_type_is_gati309(project: Project) -> None:
    source = (
        "class Inner(TypedDict):\n    a: int\n"
        "class Q(TypedDict):\n    inner: Inner\n"
        '@get("/items")\n'
        "def x(req: Request[None, Q], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None: ...\n"
    )
    assert [c for c, _ in diagnostics(project, source)] == ["GATI309"]


# -- policies ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "limit", "window"),
    [
        ("10/second", 10, 1),
        ("100/minute", 100, 60),
        ("5/2 minutes", 5, 120),
        ("1000/1 hour", 1000, 3600),
        ("7/day", 7, 86400),
        ("3/30s", 3, 30),
        ("1 / 1.5 m", 1, 90),
        ("2/0.5 second", 2, 0.5),
        ("50/h", 50, 3600),
    ],
)
def test_rate_limits_with_units(project: Project, text: str, limit: int, window: float) -> None:
    h = build_handlers(project, f'@get("/x", rate_limit="{text}")\ndef x{SIG}: ...\n').handlers[0]
    assert h.policies.rateLimit == RateLimit(limit=limit, window=window)


def test_roles_sorted_and_deduplicated_and_timeout(project: Project) -> None:
    source = f'@get("/x", roles=["editor", "admin", "editor"], timeout=2.5, plugins=["b", "a", "b"])\ndef x{SIG}: ...\n'
    h = build_handlers(project, source).handlers[0]
    assert h.policies.roles == ("admin", "editor")
    assert h.policies.timeout == 2.5
    assert h.policies.rateLimit is None
    assert h.dependencies.plugins == ("a", "b")
    plain = build_handlers(project, f'@get("/x", timeout=3)\ndef x{SIG}: ...\n').handlers[0]
    assert plain.policies.timeout == 3.0 and plain.policies.roles == ()


# -- hooks ------------------------------------------------------------------------------------


HOOKS = """
from gati_runtime_min import before, after, catch

@before(timeout=1.5, retries=2)
async def check(req, res, lctx, gctx) -> None: ...

@after
def audit(req, res, lctx, gctx): ...

@catch()
def report(error, req, res, lctx, gctx) -> None: ...
"""


def test_route_hooks_record_kind_timeout_retries_and_source(project: Project) -> None:
    source = (
        "from app.hooks import check, audit, report\n"
        f'@get("/x", before=[check], after=[audit], catch=report)\ndef x{SIG}: ...\n'
        f'@get("/y", before=[check])\ndef y{SIG}: ...\n'
    )
    program = build_handlers(project, source, app__hooks=HOOKS)
    x = one(program, "x")
    assert x.hooks.before == (
        HookDef(
            id="app.hooks:check",
            kind="before",
            module="app.hooks",
            function="check",
            isAsync=True,
            timeout=1.5,
            retries=2,
            scope="route",
            source=SourceRef(file="app/hooks.py", line=5),
        ),
    )
    [audit] = x.hooks.after
    assert (audit.id, audit.kind, audit.isAsync, audit.timeout, audit.retries, audit.source.line) == (
        "app.hooks:audit",
        "after",
        False,
        None,
        0,
        8,
    )
    [report] = x.hooks.catch
    assert (report.kind, report.source.line) == ("catch", 11)
    assert one(program, "y").hooks.before == x.hooks.before
    assert program.globalHooks == ()


def test_global_hooks_come_from_configured_modules_in_order(project: Project) -> None:
    program = build_handlers(
        project,
        f'@get("/x")\ndef x{SIG}: ...\n',
        'global_hooks = ["app.z_hooks", "app.hooks"]\n',
        app__hooks=HOOKS,
        app__z_hooks="from gati_runtime_min import before\n@before(timeout=2)\ndef first(req, res, lctx, gctx): ...\n",
    )
    assert [(h.id, h.kind, h.scope, h.timeout, h.retries) for h in program.globalHooks] == [
        ("app.z_hooks:first", "before", "global", 2.0, 0),
        ("app.hooks:check", "before", "global", 1.5, 2),
        ("app.hooks:audit", "after", "global", None, 0),
        ("app.hooks:report", "catch", "global", None, 0),
    ]


@pytest.mark.parametrize(
    ("hook", "code"),
    [
        ("@before\ndef h(req, res): ...", "GATI108"),
        ("@catch\ndef h(req, res, lctx, gctx): ...", "GATI108"),
        ("@before\ndef h(req, res, lctx, gctx) -> int: ...", "GATI108"),
        ("@before(retries=-1)\ndef h(req, res, lctx, gctx): ...", "GATI104"),
        ("@before(when='now')\ndef h(req, res, lctx, gctx): ...", "GATI104"),
        ("@after\ndef h(req, res, lctx, gctx): ...", "GATI204"),
        ("def h(req, res, lctx, gctx): ...", None),
    ],
)
def test_route_hook_problems(project: Project, hook: str, code: str | None) -> None:
    source = f'{hook}\n@get("/x", before=[h, undefined_hook])\ndef x{SIG}: ...\n'
    found = [c for c, _ in diagnostics(project, source)]
    # `undefined_hook` is always unresolved; the first hook adds its own problem
    assert found.count("GATI204") >= 1
    if code is not None:
        assert code in found


# -- module dependencies and module manifests ------------------------------------------------


MODULES = '''
from gati_runtime_min import module
from typing import TypedDict

class Row(TypedDict):
    id: int

@module("db", capabilities=["db.write", "db.read", "db.read"], egress=["postgres:5432"])
class Database:
    """The database."""

    async def insert(self, table: str, row: Row) -> Row:
        """Insert one row."""
        ...

    def count(self, table: str) -> int: ...

    def _private(self, x): ...

@module("cache")
class Cache:
    async def get(self, key: str) -> str | None: ...
'''


def test_module_dependencies_from_decorator_and_body(project: Project) -> None:
    source = (
        f'@get("/x", modules=["db"])\nasync def x{SIG}:\n'
        '    await gctx.modules["db"].insert("t", {})\n'
        "    await gctx.modules.cache.get('k')\n"
        f'@get("/y")\ndef y(req: Request[None], res: Response[None], lctx: LocalContext, g: GlobalContext) -> None:\n'
        '    g.modules["cache"]\n'
    )
    program = build_handlers(project, source, app__services=MODULES)
    assert one(program, "x").dependencies.modules == ("cache", "db")
    assert one(program, "y").dependencies.modules == ("cache",)


def test_module_manifests(project: Project) -> None:
    program = build_handlers(project, f'@get("/x")\ndef x{SIG}: ...\n', app__services=MODULES)
    cache, db = program.modules
    assert (db.moduleId, db.module, db.className, db.description) == ("db", "app.services", "Database", "The database.")
    assert db.capabilities == ("db.read", "db.write")
    assert db.egress == ("postgres:5432",)
    assert db.source.file == "app/services.py" and db.source.line == 9
    insert, count = db.methods
    assert (insert.name, insert.isAsync, insert.description) == ("insert", True, "Insert one row.")
    assert [(n, dump_gtype(t)) for n, t in insert.params] == [
        ("table", {"kind": "primitive", "type": "string"}),
        ("row", {"kind": "ref", "ref": "Row"}),
    ]
    assert dump_gtype(insert.returns) == {"kind": "ref", "ref": "Row"}
    assert (count.name, count.isAsync, dump_gtype(count.returns)) == (
        "count",
        False,
        {"kind": "primitive", "type": "integer"},
    )
    assert cache.moduleId == "cache" and dump_gtype(cache.methods[0].returns)["kind"] == "union"
    assert "Row" in program.gtypes


@pytest.mark.parametrize(
    ("source", "code"),
    [
        ('@module("m")\nclass M:\n    def f(self, x) -> int: ...', "GATI109"),
        ('@module("m")\nclass M:\n    def f(self, x: int): ...', "GATI109"),
        ("@module\nclass M: ...", "GATI113"),
        ('@module("m", region="eu")\nclass M: ...', "GATI104"),
        ('@module("m")\nclass M: ...\n@module("m")\nclass N: ...', "GATI306"),
    ],
)
def test_module_problems(project: Project, source: str, code: str) -> None:
    assert code in [c for c, _ in diagnostics(project, source + "\n")]


def test_unknown_module_dependency_is_a_diagnostic(project: Project) -> None:
    source = f'@get("/x")\ndef x{SIG}:\n    gctx.modules["ghost"]\n'
    assert [c for c, _ in diagnostics(project, source)] == ["GATI307"]


# -- signature, duplicates, source, order ------------------------------------------------------


@pytest.mark.parametrize(
    "signature",
    [
        "(req, res, lctx, gctx) -> None",
        "(req: Request[None], res: Response[None], lctx: LocalContext) -> None",
        "(req: Request[None], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> int",
        "(req: Response[None], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None",
        "(req: Request[None], res: Response[None], lctx: LocalContext, gctx: GlobalContext, *, extra: int) -> None",
        "(req: Request[int, None, None, None], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None",
    ],
)
def test_wrong_handler_signature_is_gati103(project: Project, signature: str) -> None:
    assert [c for c, _ in diagnostics(project, f'@get("/x")\ndef x{signature}: ...\n')] in (["GATI103"], ["GATI205"])


def test_duplicate_ids_and_route_conflicts(project: Project) -> None:
    source = (
        f'@get("/a/{{id}}")\ndef a{SIG}: ...\n'
        f'@get("/a/{{other}}", id="z")\ndef b{SIG}: ...\n'
        f'@post("/c", id="a")\ndef c{SIG}: ...\n'
    )
    assert sorted(c for c, _ in diagnostics(project, source)) == ["GATI301", "GATI302"]


def test_source_file_and_line_and_router_order(project: Project) -> None:
    source = (
        f'@get("/users/{{name}}")\ndef by_name{SIG}: ...\n'
        f'@get("/users/{{id:int}}")\ndef by_id{SIG}: ...\n'
        f'@get(\n    "/users/me",\n)\ndef me{SIG}: ...\n'
        f'@post("/users")\ndef create{SIG}: ...\n'
        f'@get("/users")\ndef list_users{SIG}: ...\n'
        f'@get("/files/{{p:path}}")\ndef files{SIG}: ...\n'
    )
    program = build_handlers(project, source)
    assert [h.handlerId for h in program.handlers] == ["files", "list_users", "create", "me", "by_id", "by_name"]
    base = IMPORTS.count("\n")
    lines = {h.handlerId: h.source.line - base for h in program.handlers}
    assert lines == {"by_name": 2, "by_id": 4, "me": 8, "create": 10, "list_users": 12, "files": 14}
    assert {h.source.file for h in program.handlers} == {"app/handlers.py"}


def test_request_response_types(project: Project) -> None:
    source = (
        "class In(TypedDict):\n    a: int\n"
        '@post("/x")\n'
        "def x(req: Request[In], res: Response[list[In]], lctx: LocalContext, gctx: GlobalContext) -> None: ...\n"
    )
    h = build_handlers(project, source).handlers[0]
    assert h.gtypes.request is not None and h.gtypes.response is not None
    assert dump_gtype(h.gtypes.request) == {"kind": "ref", "ref": "In"}
    assert dump_gtype(h.gtypes.response) == {
        "kind": "array",
        "items": {"kind": "ref", "ref": "In"},
        "container": "list",
        "uniqueItems": False,
    }
    assert h.gtypes.headers is None


def test_route_hook_named_through_a_module_attribute(project: Project) -> None:
    source = f'from app import hooks\n@get("/x", before=[hooks.check])\ndef x{SIG}: ...\n'
    program = build_handlers(project, source, app__hooks=HOOKS)
    assert [h.id for h in program.handlers[0].hooks.before] == ["app.hooks:check"]
