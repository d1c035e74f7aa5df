"""Gati's minimal runtime: the authoring API handlers import, and `GatiApp`, which serves a build.

Importing this package is cheap and never imports the compiler. `GatiApp` and `serve` are loaded
on first use, so a handler module that only needs the decorators does not pull in the server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gati_runtime_min.authoring import (
    after,
    before,
    catch,
    delete,
    get,
    handler,
    method,
    module,
    patch,
    post,
    put,
)
from gati_runtime_min.bus import Delivery, Topic, topic
from gati_runtime_min.context import GlobalContext, LocalContext
from gati_runtime_min.errors import HTTPError, ManifestError
from gati_runtime_min.messages import Principal, Request, Response

if TYPE_CHECKING:
    from gati_runtime_min.app import GatiApp
    from gati_runtime_min.serving import serve

__all__ = [
    "Delivery",
    "GatiApp",
    "GlobalContext",
    "HTTPError",
    "LocalContext",
    "ManifestError",
    "Principal",
    "Request",
    "Response",
    "Topic",
    "after",
    "before",
    "catch",
    "delete",
    "get",
    "handler",
    "method",
    "module",
    "patch",
    "post",
    "put",
    "serve",
    "topic",
]


def __getattr__(name: str) -> Any:
    if name == "GatiApp":
        from gati_runtime_min.app import GatiApp

        return GatiApp
    if name == "serve":
        from gati_runtime_min.serving import serve

        return serve
    raise AttributeError(f"module 'gati_runtime_min' has no attribute {name!r}")
