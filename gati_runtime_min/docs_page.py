"""`GET /openapi.json` and the interactive API page (`GET /docs`), served with no internet access.

The page is Swagger UI from the `swagger-ui-py` wheel (its `static/` folder: the bundle, the
stylesheet, the icons), served from `/docs/static/`; the HTML around it is ours. Nothing is
fetched from a CDN, so the page works on an air-gapped machine.

`/openapi.json` answers the build's `openapi.json`. `?version=` (or `X-Gati-Version`) goes
through the app's `VersionResolver`: an unknown version is the usual 400 (GATI516) listing the
known ones, a live one answers the document with `X-Gati-Version` naming it. This runtime serves
every live version with the current handlers, so the current document describes each of them.

Both are on by default (development) and switched by `[tool.gati.docs]` (`enabled`, `path`,
`openapi_path`) or, at run time, `GATI_DOCS=0|1`, which wins. A handler's own route on the same
path wins over both.
"""

from __future__ import annotations

import html
import importlib.util
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from gati_runtime_min.errors import ManifestError
from gati_runtime_min.versions import VersionResolver

ENV_DOCS: Final = "GATI_DOCS"
_STATIC_FILES: Final[Mapping[str, bytes]] = {
    "swagger-ui-bundle.js": b"text/javascript; charset=utf-8",
    "swagger-ui.css": b"text/css; charset=utf-8",
    "favicon-32x32.png": b"image/png",
    "favicon-16x16.png": b"image/png",
    "oauth2-redirect.html": b"text/html; charset=utf-8",
}

_PAGE: Final = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - API docs</title>
<link rel="stylesheet" href="{static}/swagger-ui.css">
<link rel="icon" type="image/png" sizes="32x32" href="{static}/favicon-32x32.png">
<style>body {{ margin: 0; }}</style>
</head>
<body>
<div id="gati-docs"></div>
<script src="{static}/swagger-ui-bundle.js"></script>
<script>
window.gatiDocs = SwaggerUIBundle({{
  url: {openapi},
  dom_id: "#gati-docs",
  deepLinking: true,
  tryItOutEnabled: true,
  displayRequestDuration: true,
  oauth2RedirectUrl: new URL({redirect}, window.location.href).href,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
}});
</script>
</body>
</html>
"""


def static_dir() -> Path | None:
    """The `static/` folder of the `swagger-ui-py` wheel, or `None` when it is not installed."""
    # located, not imported: the package itself pulls in jinja2 and PyYAML, which the page never needs
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "static"
    return folder if (folder / "swagger-ui-bundle.js").is_file() else None


def docs_enabled(settings: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> bool:
    """Whether the build serves its docs: `GATI_DOCS` when set, else `settings.docs.enabled` (default on)."""
    env = (os.environ if environ is None else environ).get(ENV_DOCS)
    if env is not None and env.strip() != "":
        return env.strip().lower() not in ("0", "false", "no", "off")
    docs = settings.get("docs")
    if isinstance(docs, Mapping) and isinstance(docs.get("enabled"), bool):
        return bool(docs["enabled"])
    return True


class DocsEndpoints:
    """The two documentation routes of one build. `answer` serves a GET or HEAD on them."""

    def __init__(self, build_dir: Path, settings: Mapping[str, Any], app_name: str) -> None:
        docs = settings.get("docs")
        docs = docs if isinstance(docs, Mapping) else {}
        self.page_path = str(docs.get("path") or "/docs").rstrip("/") or "/docs"
        self.openapi_path = str(docs.get("openapiPath") or "/openapi.json")
        self.static_prefix = f"{self.page_path}/static/"
        openapi_file = build_dir / "openapi.json"
        try:
            self.openapi: bytes | None = openapi_file.read_bytes()
        except FileNotFoundError:
            self.openapi = None  # a build without one (hand-made in tests): the routes answer 404
        except OSError as exc:
            raise ManifestError("openapi.json", f"cannot read it: {exc}") from exc
        self._static = static_dir()
        page = _PAGE.format(
            title=html.escape(app_name),
            static=html.escape(self.static_prefix.rstrip("/")),
            openapi=json.dumps(self.openapi_path),
            redirect=json.dumps(self.static_prefix + "oauth2-redirect.html"),
        )
        self.page = page.encode("utf-8")

    def serves(self, path: str) -> bool:
        return path in (self.openapi_path, self.page_path, self.page_path + "/") or path.startswith(self.static_prefix)

    async def answer(
        self, path: str, headers: Mapping[str, str], query_string: bytes, versions: VersionResolver
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        """Status, body and headers for `path` (the caller has checked `serves(path)`).

        Raises:
            GatiError: GATI516 for an unknown `?version=`.
        """
        if self.openapi is None:
            return 404, b"this build has no openapi.json", [(b"content-type", b"text/plain; charset=utf-8")]
        if path == self.openapi_path:
            extra: list[tuple[bytes, bytes]] = [(b"content-type", b"application/json")]
            if b"version=" in query_string or "x-gati-version" in headers:
                version = versions.resolve(headers, query_string)
                if version is not None:
                    extra.append((b"x-gati-version", version.encode()))
            return 200, self.openapi, extra
        if path in (self.page_path, self.page_path + "/"):
            return 200, self.page, [(b"content-type", b"text/html; charset=utf-8")]
        name = path[len(self.static_prefix) :]
        kind = _STATIC_FILES.get(name)
        if kind is None or self._static is None:
            body = b"not found"
            if self._static is None:
                body = b"the docs page needs the `swagger-ui-py` package (pip install swagger-ui-py)"
            return 404, body, [(b"content-type", b"text/plain; charset=utf-8")]
        data = (self._static / name).read_bytes()
        return 200, data, [(b"content-type", kind), (b"cache-control", b"public, max-age=86400")]
