"""Errors the runtime raises or answers with, and the stable GATI5xx codes of its error envelope.

Every error response has one shape::

    {"error": {"code": "GATI5xx", "message": "...", "path": "/users/1", "issues": [...], "requestId": "..."}}

`issues` is present for validation failures only. A handler's own `HTTPError` uses the code it chose.
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any, Final

import orjson

# code -> (HTTP status, meaning). Codes are API: never renumber, only add.
CODES: Final[dict[str, tuple[int, str]]] = {
    "GATI500": (500, "internal error: the handler or a hook crashed"),
    "GATI501": (500, "the handler's response does not match its declared type"),
    "GATI502": (500, "a hook failed after its retries"),
    "GATI503": (503, "the app is not ready"),
    "GATI504": (504, "the handler or a hook timed out"),
    "GATI505": (500, "a module was used that the handler does not declare"),
    "GATI506": (503, "the shared state store (Redis) is unavailable"),
    "GATI507": (500, "the handler's response holds a value that has no JSON form"),
    "GATI510": (400, "malformed JSON body"),
    "GATI511": (422, "the request body does not match the declared type"),
    "GATI512": (422, "the query string does not match the declared type"),
    "GATI513": (422, "the path parameters do not match the declared type"),
    "GATI514": (415, "unsupported media type (JSON expected)"),
    "GATI515": (413, "request body too large"),
    "GATI516": (400, "unknown API version"),
    "GATI517": (410, "the API version is retired"),
    "GATI520": (404, "no route matches the path"),
    "GATI521": (405, "the path exists but not for this method"),
    "GATI522": (404, "the route does not exist in the requested API version"),
    "GATI523": (500, "a Timescape transformer failed"),
    "GATI524": (500, "a Timescape transformer's result does not match its API version"),
    "GATI530": (401, "authentication required or credentials invalid"),
    "GATI531": (403, "the caller lacks a required role"),
    "GATI532": (429, "rate limit exceeded"),
    "GATI540": (503, "a module is unavailable (its process crashed, is restarting, or the module is stopped)"),
    "GATI541": (504, "a module call timed out"),
    "GATI542": (502, "a module answered a call with an error"),
    "GATI543": (500, "a module call's arguments or result do not match the declared types"),
    "GATI544": (500, "a module used a capability it does not declare"),
    "GATI545": (500, "a handler read a secret it does not declare"),
    "GATI546": (503, "a secret is missing or its provider is unavailable"),
    "GATI547": (504, "a publish waited past the request's deadline (backpressure)"),
    "GATI548": (500, "a message does not match its topic's declared type"),
    "GATI550": (503, "the request was aborted at a debug gate"),
    "GATI551": (504, "the request waited at a debug gate past its timeout"),
    "GATI552": (400, "bad playground API request"),
    "GATI553": (404, "no such trace, gate or paused request"),
    "GATI554": (500, "replay failed: the app could not run the stored request"),
}


class ManifestError(Exception):
    """The build in `.gati/` is missing, corrupt or incompatible. Raised at start-up, naming the file."""

    def __init__(self, file: str, message: str) -> None:
        super().__init__(f"{file}: {message}")
        self.file = file
        self.message = message


class HTTPError(Exception):
    """Raise from a handler or hook to answer with `status` and the error envelope.

    Parameters:
        status: the HTTP status code (4xx or 5xx).
        code: a stable machine-readable code of your choosing, such as `"user_not_found"`.
        detail: a human-readable message; defaults to the status phrase.
    """

    def __init__(self, status: int, code: str, detail: str | None = None) -> None:
        super().__init__(detail or code)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers: dict[str, str] = {}


class GatiError(HTTPError):
    """An error the runtime itself answers, with one of the `CODES`."""

    def __init__(
        self,
        code: str,
        message: str | None = None,
        *,
        issues: Sequence[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        status, meaning = CODES[code]
        super().__init__(status, code, message or meaning)
        self.issues = list(issues) if issues is not None else None
        if headers:
            self.headers.update(headers)


class CapabilityError(GatiError):
    """A handler reached for a module it does not declare (`modules=[...]` or a `gctx.modules` use), or
    an in-process module for one its capabilities do not name (`module:<id>`)."""

    def __init__(self, module_id: str, handler_id: str) -> None:
        if handler_id.startswith("module:"):  # a module's own gctx: its capabilities name the modules it may use
            owner = handler_id.removeprefix("module:")
            message = f"module {owner!r} does not declare the capability 'module:{module_id}'"
        else:
            message = f"handler {handler_id!r} does not declare module {module_id!r}"
        super().__init__("GATI505", message)


class ModuleUnavailable(GatiError):
    """GATI540: the module's process crashed, is restarting, failed to start, or the module is stopped."""

    def __init__(self, module_id: str, reason: str) -> None:
        super().__init__("GATI540", f"module {module_id!r} is unavailable: {reason}")
        self.module_id = module_id


class ModuleTimeout(GatiError):
    """GATI541: a module call did not answer within its timeout (a late answer is dropped)."""

    def __init__(self, module_id: str, method: str, timeout: float) -> None:
        super().__init__("GATI541", f"module {module_id!r} method {method!r} timed out after {timeout:.3g}s")
        self.module_id = module_id
        self.method = method


class ModuleCallError(GatiError):
    """GATI542: the module answered with an error; `remote_message` is the module's own message."""

    def __init__(self, module_id: str, method: str, remote_code: int, remote_message: str) -> None:
        super().__init__("GATI542", f"module {module_id!r} method {method!r} failed: {remote_message}")
        self.module_id = module_id
        self.method = method
        self.remote_code = remote_code
        self.remote_message = remote_message


class ModuleContractError(GatiError):
    """GATI543: a module call's arguments or result do not match the method's declared types."""

    def __init__(self, module_id: str, method: str, message: str) -> None:
        super().__init__("GATI543", f"module {module_id!r} method {method!r}: {message}")
        self.module_id = module_id
        self.method = method


class ModuleCapabilityError(GatiError):
    """GATI544: a module used a capability (network egress, ...) its manifest does not declare."""

    def __init__(self, module_id: str, capability: str, message: str) -> None:
        super().__init__("GATI544", f"module {module_id!r} used undeclared capability {capability!r}: {message}")
        self.module_id = module_id
        self.capability = capability


class PublishTimeout(GatiError, TimeoutError):
    """A publish (or a `request`'s wait for its reply) reached the request's deadline: a full
    subscriber queue held it back (GATI547, 504). Also a `TimeoutError`."""

    def __init__(self, topic: str, seconds: float) -> None:
        super().__init__("GATI547", f"publishing on {topic!r} waited {seconds:.3g}s, past the request's deadline")
        self.topic = topic


class MessageTypeError(GatiError):
    """A message published on a typed topic does not match the topic's declared type (GATI548)."""

    def __init__(self, topic: str, cause: Exception) -> None:
        issues = [
            dict(i.to_json()) if hasattr(i, "to_json") else {"message": str(i)} for i in getattr(cause, "issues", ())
        ]
        first = issues[0].get("message", str(cause)) if issues else str(cause)
        message = f"a message on topic {topic!r} does not match its type: {first}"
        super().__init__("GATI548", message, issues=issues or None)
        self.topic = topic


class RenderedError(HTTPError):
    """`error` answered with a body already rendered (an older API version's error shape)."""

    def __init__(self, error: HTTPError, body: bytes) -> None:
        super().__init__(error.status, error.code, error.detail)
        self.headers.update(error.headers)
        self.body = body


def phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def envelope(error: HTTPError, path: str, request_id: str) -> bytes:
    """The JSON bytes of the error body for `error`."""
    if isinstance(error, RenderedError):
        return error.body
    body: dict[str, Any] = {
        "code": error.code,
        "message": error.detail or phrase(error.status),
        "path": path,
        "requestId": request_id,
    }
    issues = getattr(error, "issues", None)
    if issues is not None:
        body["issues"] = issues
    return orjson.dumps({"error": body})
