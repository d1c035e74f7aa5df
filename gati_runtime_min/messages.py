"""`Request`, `Response` and `Principal`: what a handler receives and fills in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Self

from typing_extensions import TypeVar

Body = TypeVar("Body")
Query = TypeVar("Query", default=dict[str, Any])
Params = TypeVar("Params", default=dict[str, Any])
Out = TypeVar("Out")


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller: from a JWT (`scheme="jwt"`) or an API key (`scheme="api_key"`)."""

    subject: str | None
    roles: frozenset[str]
    scheme: Literal["jwt", "api_key"]
    claims: Mapping[str, Any] = field(default_factory=dict)


class Request(Generic[Body, Query, Params]):
    """The decoded request. `Request[Body]`, `Request[Body, Query]` or `Request[Body, Query, Params]`.

    `body`, `query` and `params` hold the values built by the generated decoders; `headers` has
    lower-case names.
    """

    __slots__ = ("body", "client", "headers", "method", "params", "path", "query", "raw_query", "request_id", "user")

    body: Body
    query: Query
    params: Params
    headers: Mapping[str, str]
    method: str
    path: str
    request_id: str
    client: str | None
    user: Principal | None
    raw_query: Mapping[str, str | list[str]]

    def __init__(
        self,
        *,
        body: Body,
        query: Query,
        params: Params,
        headers: Mapping[str, str],
        method: str,
        path: str,
        request_id: str,
        client: str | None = None,
        user: Principal | None = None,
        raw_query: Mapping[str, str | list[str]] | None = None,
    ) -> None:
        self.body = body
        self.query = query
        self.params = params
        self.headers = headers
        self.method = method
        self.path = path
        self.request_id = request_id
        self.client = client
        self.user = user
        self.raw_query = raw_query if raw_query is not None else {}

    @classmethod
    def _new(
        cls, body: Any, query: Any, params: Any, headers: Mapping[str, str], method: str, path: str,
        request_id: str, client: str | None, user: Principal | None, raw_query: Mapping[str, str | list[str]],
    ) -> Request[Any, Any, Any]:  # fmt: skip
        """The runtime's constructor: positional, without the keyword handling of `__init__`."""
        req: Request[Any, Any, Any] = _new_object(cls)
        req.body = body
        req.query = query
        req.params = params
        req.headers = headers
        req.method = method
        req.path = path
        req.request_id = request_id
        req.client = client
        req.user = user
        req.raw_query = raw_query
        return req

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.path} id={self.request_id}>"


_UNSET: Any = object()
_new_object: Any = object.__new__


class Response(Generic[Out]):
    """The response a handler fills in. `Out` is the 2xx body type.

    `res.status(201).header("location", url).json(user)`; `res.empty()` answers with no body
    (status 204 unless one was set).
    """

    __slots__ = ("_body", "_empty", "_headers", "_status", "_status_set")

    def __init__(self, status: int = 200) -> None:
        self._status = status
        self._status_set = False
        self._headers: dict[str, str] | None = None
        self._body: Any = _UNSET
        self._empty = False

    def status(self, code: int) -> Self:
        """Set the status code and return the response, for chaining."""
        self._status = code
        self._status_set = True
        return self

    def header(self, name: str, value: str) -> Self:
        """Set a response header (the name is stored lower-case) and return the response."""
        if self._headers is None:
            self._headers = {}
        self._headers[name.lower()] = value
        return self

    def json(self, body: Out) -> None:
        """Set the body; the runtime encodes it with the handler's generated encoder."""
        self._body = body
        self._empty = False

    def empty(self) -> None:
        """Answer with no body; the status becomes 204 unless one was set."""
        self._body = None
        self._empty = True
        if not self._status_set:
            self._status = 204
            self._status_set = True

    # Read side, for the runtime, hooks and tests.
    @property
    def status_code(self) -> int:
        return self._status

    @property
    def headers(self) -> Mapping[str, str]:
        return self._headers or {}

    @property
    def body(self) -> Any:
        """The body the handler set, or None."""
        return None if self._body is _UNSET else self._body

    @property
    def has_body(self) -> bool:
        return self._body is not _UNSET

    @property
    def is_empty(self) -> bool:
        return self._empty
