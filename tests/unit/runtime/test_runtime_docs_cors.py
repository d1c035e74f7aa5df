"""The app as a browser meets it: `/openapi.json`, the offline `/docs` page, CORS and middleware.

Each test builds a small real project with the compiler into `tmp_path` and serves it in-process
through `AppClient`, which wraps the app in the middleware of its build settings as `serve` does.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gati_compiler.pipeline import build
from gati_runtime_min import GatiApp, ManifestError
from gati_runtime_min.docs_page import static_dir
from gati_runtime_min.middleware import CORSMiddleware, Middleware, build_asgi
from gati_runtime_min.testing import AppClient

_seq = itertools.count()

HANDLERS = """
from typing import TypedDict
from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get, post


class Note(TypedDict):
    text: str


@get("/notes")
def list_notes(req: Request[None], res: Response[list[Note]], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json([{"text": "x" * 40} for _ in range(50)])


@post("/notes", status=201)
def add_note(req: Request[Note], res: Response[Note], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.json(req.body)
"""


def make(tmp_path: Path, extra_config: str = "") -> Path:
    """Build a project whose handler module has a unique name; return its build folder."""
    module = f"notes_{next(_seq)}"
    root = tmp_path / "app"
    root.mkdir()
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "notes"\nversion = "3.1.0"\n\n[tool.gati]\nname = "notes"\n{extra_config}',
        encoding="utf-8",
    )
    (root / f"{module}.py").write_text(HANDLERS, encoding="utf-8")
    result = build(root, jobs=1)
    assert result.ok, [(d.code, d.message) for d in result.diagnostics]
    return root / ".gati"


def call(build_dir: Path | GatiApp, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        async with AppClient(build_dir) as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(go())


@pytest.fixture(autouse=True)
def _no_docs_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("GATI_DOCS", raising=False)
    yield


# -- /openapi.json and /docs ---------------------------------------------------------------------


def test_openapi_json_is_the_builds_document(tmp_path: Path) -> None:
    out = make(tmp_path)
    r = call(out, "GET", "/openapi.json")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.content == (out / "openapi.json").read_bytes()
    assert r.json()["info"]["version"] == "3.1.0"
    assert r.headers["x-request-id"]


def test_openapi_unknown_version_is_a_structured_400(tmp_path: Path) -> None:
    r = call(make(tmp_path), "GET", "/openapi.json?version=2020-01-01T00:00:00Z")
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "GATI516"


def test_openapi_live_version_answers_the_document_naming_it(tmp_path: Path) -> None:
    out = make(tmp_path)
    app = GatiApp(out)
    # a build with recorded versions (what Timescape writes into the manifest)
    from gati_runtime_min.versions import VersionResolver

    app.versions = VersionResolver([{"tsv": "2026-01-01T00:00:00Z", "tags": ["v1"]}, "2026-06-01T00:00:00Z"])
    for asked, resolved in (("v1", "2026-01-01T00:00:00Z"), ("2026-07-01T00:00:00Z", "2026-06-01T00:00:00Z")):
        r = call(app, "GET", f"/openapi.json?version={asked}")
        assert r.status_code == 200, r.text
        assert r.headers["x-gati-version"] == resolved
        assert r.json()["openapi"] == "3.1.0"


def test_docs_page_is_offline_swagger_ui(tmp_path: Path) -> None:
    out = make(tmp_path)
    page = call(out, "GET", "/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "/docs/static/swagger-ui-bundle.js" in html and '"/openapi.json"' in html
    assert "http://" not in html and "https://" not in html  # nothing from a CDN
    assert static_dir() is not None
    js = call(out, "GET", "/docs/static/swagger-ui-bundle.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert js.content == (static_dir() / "swagger-ui-bundle.js").read_bytes()  # type: ignore[operator]
    assert call(out, "GET", "/docs/static/swagger-ui.css").status_code == 200
    assert call(out, "GET", "/docs/static/../../etc/passwd").status_code == 404
    assert call(out, "HEAD", "/docs").content == b""


def test_docs_switched_off_in_config(tmp_path: Path) -> None:
    out = make(tmp_path, "\n[tool.gati.docs]\nenabled = false\n")
    assert call(out, "GET", "/docs").status_code == 404
    assert call(out, "GET", "/openapi.json").status_code == 404
    assert call(out, "GET", "/notes").status_code == 200


def test_docs_env_wins_over_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = make(tmp_path)
    monkeypatch.setenv("GATI_DOCS", "0")
    assert call(out, "GET", "/docs").status_code == 404
    monkeypatch.setenv("GATI_DOCS", "1")
    assert call(out, "GET", "/docs").status_code == 200


def test_docs_paths_from_config(tmp_path: Path) -> None:
    out = make(tmp_path, '\n[tool.gati.docs]\npath = "/api-docs"\nopenapi_path = "/api/schema.json"\n')
    assert call(out, "GET", "/docs").status_code == 404
    page = call(out, "GET", "/api-docs")
    assert page.status_code == 200 and '"/api/schema.json"' in page.text
    assert call(out, "GET", "/api/schema.json").json()["openapi"] == "3.1.0"


# -- CORS ----------------------------------------------------------------------------------------

CORS = '\n[tool.gati.cors]\nallow_origins = ["http://127.0.0.1:5000"]\nallow_headers = ["content-type", "x-api-key"]\n'
PREFLIGHT = {"origin": "http://127.0.0.1:5000", "access-control-request-method": "POST"}


def test_preflight_allowed_is_204_with_the_allowed_method_and_headers(tmp_path: Path) -> None:
    out = make(tmp_path, CORS)
    r = call(
        out, "OPTIONS", "/notes", headers={**PREFLIGHT, "access-control-request-headers": "Content-Type, X-Api-Key"}
    )
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == "http://127.0.0.1:5000"
    assert "POST" in r.headers["access-control-allow-methods"].split(", ")
    assert {"content-type", "x-api-key"} <= set(r.headers["access-control-allow-headers"].split(", "))
    assert r.headers["access-control-max-age"] == "600"
    assert "Origin" in r.headers["vary"]


@pytest.mark.parametrize(
    "headers",
    [
        {**PREFLIGHT, "origin": "http://evil.example"},
        {**PREFLIGHT, "access-control-request-method": "TRACE"},
        {**PREFLIGHT, "access-control-request-headers": "x-secret"},
    ],
    ids=["origin", "method", "header"],
)
def test_preflight_refused_carries_no_cors_headers(tmp_path: Path, headers: dict[str, str]) -> None:
    r = call(make(tmp_path, CORS), "OPTIONS", "/notes", headers=headers)
    assert r.status_code == 403
    assert not any(k.startswith("access-control-") for k in r.headers)


def test_simple_request_from_allowed_origin_gets_allow_origin_and_exposed_headers(tmp_path: Path) -> None:
    out = make(tmp_path, CORS)
    r = call(out, "POST", "/notes", json={"text": "hi"}, headers={"origin": "http://127.0.0.1:5000"})
    assert r.status_code == 201
    assert r.headers["access-control-allow-origin"] == "http://127.0.0.1:5000"
    assert r.headers["access-control-expose-headers"] == "x-request-id"
    assert r.headers["vary"] == "Origin"
    # errors carry them too, so the browser shows the structured error instead of a CORS failure
    bad = call(out, "POST", "/notes", json={"nope": 1}, headers={"origin": "http://127.0.0.1:5000"})
    assert bad.status_code == 422 and bad.headers["access-control-allow-origin"] == "http://127.0.0.1:5000"


def test_other_origin_and_no_origin_pass_untouched(tmp_path: Path) -> None:
    out = make(tmp_path, CORS)
    for headers in ({"origin": "http://evil.example"}, {}):
        r = call(out, "GET", "/notes", headers=headers)
        assert r.status_code == 200
        assert "access-control-allow-origin" not in r.headers


def test_cors_off_without_origins_leaves_options_to_the_app(tmp_path: Path) -> None:
    r = call(make(tmp_path), "OPTIONS", "/notes", headers=PREFLIGHT)
    assert r.status_code == 204 and "access-control-allow-origin" not in r.headers
    assert "POST" in r.headers["allow"]


def test_any_origin_with_credentials_echoes_the_origin() -> None:
    async def inner(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"vary", b"Accept")]})
        await send({"type": "http.response.body", "body": b"ok"})

    app = CORSMiddleware(inner, allow_origins=["*"], allow_credentials=True, allow_headers=["*"])

    async def go() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            simple = await c.get("/", headers={"origin": "http://a.example"})
            pre = await c.options("/", headers={**PREFLIGHT, "access-control-request-headers": "x-anything"})
            return simple, pre

    simple, pre = asyncio.run(go())
    assert simple.headers["access-control-allow-origin"] == "http://a.example"
    assert simple.headers["access-control-allow-credentials"] == "true"
    assert simple.headers["vary"] == "Accept, Origin"
    assert pre.status_code == 204 and pre.headers["access-control-allow-headers"] == "x-anything"
    assert pre.headers["access-control-allow-origin"] == "http://127.0.0.1:5000"


# -- middleware from config and code -------------------------------------------------------------


def test_middleware_from_config_wraps_the_app(tmp_path: Path) -> None:
    out = make(
        tmp_path,
        '\n[[tool.gati.middleware]]\nfactory = "starlette.middleware.gzip:GZipMiddleware"\n'
        "options = { minimum_size = 100 }\n",
    )
    r = call(out, "GET", "/notes", headers={"accept-encoding": "gzip"})
    assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
    assert r.json() == [{"text": "x" * 40}] * 50  # httpx decoded the gzip body


def test_middleware_from_code_goes_inside_the_configured_ones(tmp_path: Path) -> None:
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    out = make(tmp_path, CORS)
    app = GatiApp(out)
    asgi = build_asgi(app, Middleware(TrustedHostMiddleware, allowed_hosts=["api.example"]))

    async def go() -> tuple[httpx.Response, httpx.Response]:
        await app.startup()
        transport = httpx.ASGITransport(app=asgi)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.example") as good:
            ok = await good.get("/notes")
        async with httpx.AsyncClient(transport=transport, base_url="http://other.example") as bad:
            refused = await bad.get("/notes", headers={"origin": "http://127.0.0.1:5000"})
        return ok, refused

    ok, refused = asyncio.run(go())
    assert ok.status_code == 200
    assert refused.status_code == 400  # TrustedHost refused it, and CORS (outside) still labelled it
    assert refused.headers["access-control-allow-origin"] == "http://127.0.0.1:5000"


def test_middleware_that_cannot_be_imported_is_a_manifest_error(tmp_path: Path) -> None:
    out = make(tmp_path, '\n[[tool.gati.middleware]]\nfactory = "no_such_pkg.mw:Thing"\n')
    with pytest.raises(ManifestError, match=r"cannot import `no_such_pkg\.mw:Thing`"):
        build_asgi(GatiApp(out))
