"""ASGI middleware around `GatiApp`: CORS per the Fetch standard, and any ASGI middleware by name.

From config (`[tool.gati.cors]`, `[[tool.gati.middleware]]`, recorded in the build's settings)
or from code:

```python
from starlette.middleware.gzip import GZipMiddleware
from gati_runtime_min import GatiApp
from gati_runtime_min.middleware import Middleware, build_asgi

app = build_asgi(GatiApp(".gati"), Middleware(GZipMiddleware, minimum_size=500))  # for uvicorn
```

The order, outermost first: CORS (so preflights and error answers carry its headers), the
config's `middleware` entries in the order written, then the ones given in code, then the app.
Middleware must pass `lifespan` scopes through (Starlette's and the ASGI norm do).
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from gati_runtime_min.errors import ManifestError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

__all__ = ["CORSMiddleware", "Middleware", "build_asgi", "middleware_from_settings"]

_SAFELISTED_HEADERS: Final = frozenset({"accept", "accept-language", "content-language", "content-type"})
_MANIFEST: Final = "manifest.json"


@dataclass(frozen=True)
class Middleware:
    """An ASGI middleware and its options: wrapping calls `factory(app, **options)`."""

    factory: Callable[..., Any]
    options: Mapping[str, Any] = field(default_factory=dict)

    def __init__(self, factory: Callable[..., Any], /, **options: Any) -> None:
        object.__setattr__(self, "factory", factory)
        object.__setattr__(self, "options", options)

    def wrap(self, app: ASGIApp) -> ASGIApp:
        wrapped: ASGIApp = self.factory(app, **self.options)
        return wrapped


class CORSMiddleware:
    """Cross-origin resource sharing as the Fetch standard describes it.

    - A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) is answered here,
      204 with the allowed method and headers when the origin, method and every requested header
      are allowed, 403 without any CORS header otherwise (the browser then fails the request).
    - Any other request from an allowed origin gets `Access-Control-Allow-Origin` (the origin
      itself when credentials are allowed, since `*` is not honoured with them), the exposed
      headers and `Vary: Origin`; from another origin it passes through untouched.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        allow_origins: Sequence[str] = (),
        allow_methods: Sequence[str] = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"),
        allow_headers: Sequence[str] = (),
        expose_headers: Sequence[str] = ("x-request-id",),
        allow_credentials: bool = False,
        max_age: int = 600,
    ) -> None:
        self.app = app
        self.any_origin = "*" in allow_origins
        self.origins = frozenset(o.rstrip("/") for o in allow_origins if o != "*")
        self.any_method = "*" in allow_methods
        self.methods = tuple(m.upper() for m in allow_methods if m != "*")
        self.any_header = "*" in allow_headers
        self.headers = frozenset(h.lower() for h in allow_headers if h != "*") | _SAFELISTED_HEADERS
        self.expose = ", ".join(h.lower() for h in expose_headers)
        self.credentials = allow_credentials
        self.max_age = max_age

    def _origin_allowed(self, origin: str) -> bool:
        return self.any_origin or origin in self.origins

    def _allow_origin(self, origin: str) -> bytes:
        # `*` only when any origin is allowed and no credentials are; otherwise the origin itself
        return b"*" if self.any_origin and not self.credentials else origin.encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", ())}
        origin_raw = headers.get(b"origin")
        if origin_raw is None:
            await self.app(scope, receive, send)
            return
        origin = origin_raw.decode("latin-1")
        if scope["method"] == "OPTIONS" and b"access-control-request-method" in headers:
            await self._preflight(origin, headers, send)
            return
        if not self._origin_allowed(origin):
            await self.app(scope, receive, send)
            return
        extra = [(b"access-control-allow-origin", self._allow_origin(origin))]
        if self.credentials:
            extra.append((b"access-control-allow-credentials", b"true"))
        if self.expose:
            extra.append((b"access-control-expose-headers", self.expose.encode("latin-1")))

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = [(k, v) for k, v in message.get("headers", ()) if k.lower() != b"vary"]
                vary = [v for k, v in message.get("headers", ()) if k.lower() == b"vary"]
                out.extend(extra)
                out.append((b"vary", b", ".join([*vary, b"Origin"])))
                message = {**message, "headers": out}
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _preflight(self, origin: str, headers: Mapping[bytes, bytes], send: Send) -> None:
        method = headers[b"access-control-request-method"].decode("latin-1").strip().upper()
        asked = [
            h.strip().lower()
            for h in headers.get(b"access-control-request-headers", b"").decode("latin-1").split(",")
            if h.strip()
        ]
        ok = (
            self._origin_allowed(origin)
            and (self.any_method or method in self.methods)
            and (self.any_header or all(h in self.headers for h in asked))
        )
        vary = (b"vary", b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers")
        if not ok:
            body = b"CORS preflight refused: origin, method or headers not allowed"
            out = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()), vary]
            await send({"type": "http.response.start", "status": 403, "headers": out})
            await send({"type": "http.response.body", "body": body})
            return
        allow_headers = ", ".join(asked) if self.any_header else ", ".join(sorted(self.headers))
        out = [
            (b"access-control-allow-origin", self._allow_origin(origin)),
            (b"access-control-allow-methods", (method if self.any_method else ", ".join(self.methods)).encode()),
            (b"access-control-max-age", str(self.max_age).encode()),
            vary,
            (b"content-length", b"0"),
        ]
        if allow_headers:
            out.append((b"access-control-allow-headers", allow_headers.encode("latin-1")))
        if self.credentials:
            out.append((b"access-control-allow-credentials", b"true"))
        await send({"type": "http.response.start", "status": 204, "headers": out})
        await send({"type": "http.response.body", "body": b""})


def _import_factory(spec: str) -> Callable[..., Any]:
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ManifestError(_MANIFEST, f"settings.middleware: `{spec}` is not `package.module:Name`")
    try:
        target: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise ManifestError(_MANIFEST, f"settings.middleware: cannot import `{spec}`: {exc}") from exc
    if not callable(target):
        raise ManifestError(_MANIFEST, f"settings.middleware: `{spec}` is not callable")
    return target  # type: ignore[no-any-return]


def middleware_from_settings(settings: Mapping[str, Any]) -> list[Middleware]:
    """The middleware the build's settings ask for (`cors`, then `middleware`), outermost first.

    Raises:
        ManifestError: a `middleware` entry cannot be imported.
    """
    out: list[Middleware] = []
    cors = settings.get("cors")
    if isinstance(cors, Mapping) and cors.get("allowOrigins"):
        out.append(
            Middleware(
                CORSMiddleware,
                allow_origins=tuple(cors["allowOrigins"]),
                allow_methods=tuple(cors.get("allowMethods") or ()),
                allow_headers=tuple(cors.get("allowHeaders") or ()),
                expose_headers=tuple(cors.get("exposeHeaders") or ()),
                allow_credentials=bool(cors.get("allowCredentials")),
                max_age=int(cors.get("maxAge", 600)),
            )
        )
    for entry in settings.get("middleware") or ():
        if not isinstance(entry, Mapping) or not isinstance(entry.get("factory"), str):
            raise ManifestError(_MANIFEST, "settings.middleware: each entry needs a `factory` string")
        options = entry.get("options") or {}
        out.append(Middleware(_import_factory(entry["factory"]), **dict(options)))
    return out


def build_asgi(app: Any, *extra: Middleware, settings: bool = True) -> ASGIApp:
    """`app` (a `GatiApp`) wrapped in the middleware of its build settings, then in `extra`.

    Parameters:
        app: the `GatiApp`.
        extra: middleware from code, inside those from config (the last one is the innermost).
        settings: also apply `cors` and `middleware` from the build settings.
    """
    stack: list[Middleware] = []
    if settings:
        stack.extend(middleware_from_settings(app.build.settings))
    stack.extend(extra)
    wrapped: ASGIApp = app
    for mw in reversed(stack):
        wrapped = mw.wrap(wrapped)
    return wrapped
