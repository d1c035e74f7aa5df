"""`Request`, `Response` and `Principal`: what a handler receives and fills in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Self

from typing_extensions import TypeVar

from gati_runtime_min.ingress import Headers

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

    # `_hdrs` holds the runtime's raw header dict (bytes to bytes); the `Headers` view over it is
    # only built when `headers` is read.
    __slots__ = (
        "_hdrs", "_headers", "body", "client", "method", "params", "path", "query", "raw_query", "request_id", "user",
    )  # fmt: skip

    body: Body
    query: Query
    params: Params
    _hdrs: Mapping[bytes, bytes] | None
    _headers: Mapping[str, str] | None
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
        self._headers = headers
        self._hdrs = None
        self.method = method
        self.path = path
        self.request_id = request_id
        self.client = client
        self.user = user
        self.raw_query = raw_query if raw_query is not None else {}

    @property
    def headers(self) -> Mapping[str, str]:
        """The request headers, lower-case names."""
        headers = self._headers
        if headers is None:
            headers = self._headers = Headers(self._hdrs or {})
        return headers

    @headers.setter
    def headers(self, value: Mapping[str, str]) -> None:
        self._headers = value

    @classmethod
    def _new(
        cls, body: Any, query: Any, params: Any, raw_headers: Mapping[bytes, bytes], method: str, path: str,
        request_id: str, client: str | None, user: Principal | None, raw_query: Mapping[str, str | list[str]],
    ) -> Request[Any, Any, Any]:  # fmt: skip
        """The runtime's constructor: positional, over the raw headers, without `__init__`'s keywords."""
        req: Request[Any, Any, Any] = _new_object(cls)
        req.body = body
        req.query = query
        req.params = params
        req._hdrs = raw_headers
        req._headers = None
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

    # `_status` and `_body` are set per response; the rest start as these class attributes and
    # land in the instance `__dict__` only when a handler sets them.
    __slots__ = ("__dict__", "_body", "_status")

    _status_set: bool = False
    _headers: dict[str, str] | None = None
    _empty: bool = False

    def __init__(self, status: int = 200) -> None:
        self._status = status
        self._body: Any = _UNSET

    @classmethod
    def _new(cls, status: int) -> Response[Any]:
        """The runtime's constructor, without the `__init__` call."""
        res: Response[Any] = _new_object(cls)
        res._status = status
        res._body = _UNSET
        return res

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
        if self._empty:  # only then: the instance `__dict__` is not created for nothing
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
