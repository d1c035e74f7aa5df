"""Ingress helpers: header normalisation, query parsing, the JSON body with its size limit."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

import orjson

from gati_runtime_min.errors import GatiError

Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]


class ClientDisconnected(Exception):
    """The client went away before sending the whole body."""


class Headers(Mapping[str, str]):
    """The request headers as a read-only `Mapping[str, str]` with lower-case names.

    Built over the bytes dict of the ASGI headers without decoding them: a lookup encodes the
    name and decodes the one value; iterating decodes the names.
    """

    __slots__ = ("_raw",)

    def __init__(self, raw: Mapping[bytes, bytes]) -> None:
        self._raw = raw

    def __getitem__(self, name: str) -> str:
        return self._raw[name.encode("latin-1")].decode("latin-1")

    def get(self, name: str, default: Any = None) -> Any:
        value = self._raw.get(name.encode("latin-1"))
        return default if value is None else value.decode("latin-1")

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.encode("latin-1") in self._raw

    def __iter__(self) -> Iterator[str]:
        return (k.decode("latin-1") for k in self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def __repr__(self) -> str:
        return f"Headers({dict(self)!r})"


def raw_headers(raw: Sequence[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
    """The ASGI headers as a dict; repeated names join their values with ", ".

    ASGI servers send lower-case names (the HTTP connection scope of the ASGI spec), so the names
    are used as they are.
    """
    headers = dict(raw)
    if len(headers) == len(raw):
        return headers
    headers = {}
    for k, v in raw:
        name = k.lower()
        prev = headers.get(name)
        headers[name] = v if prev is None else prev + b", " + v
    return headers


async def read_json_body(headers: Mapping[bytes, bytes], receive: Receive, max_bytes: int) -> Any:
    """The parsed JSON body (None when empty): 413 over `max_bytes`, 415 for non-JSON, 400 for bad JSON."""
    check_declared_length(headers, max_bytes)
    return await json_body_from(await receive(), headers, receive, max_bytes)


def check_declared_length(headers: Mapping[bytes, bytes], max_bytes: int) -> None:
    """413 if `content-length` says the body is over `max_bytes` (before reading any of it)."""
    declared = headers.get(b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise GatiError("GATI515", f"body larger than {max_bytes} bytes")


async def json_body_from(
    message: MutableMapping[str, Any], headers: Mapping[bytes, bytes], receive: Receive, max_bytes: int
) -> Any:
    """`read_json_body` once the first message is in (`check_declared_length` already done)."""
    if message["type"] == "http.disconnect":
        raise ClientDisconnected
    data: bytes = message.get("body", b"")
    if message.get("more_body", False):
        chunks = [data]
        size = len(data)
        more = True
        while more:
            if size > max_bytes:
                raise GatiError("GATI515", f"body larger than {max_bytes} bytes")
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnected
            chunk = message.get("body", b"")
            size += len(chunk)
            chunks.append(chunk)
            more = message.get("more_body", False)
        data = b"".join(chunks)
    return parse_json_body(headers, data, max_bytes)


def parse_json_body(headers: Mapping[bytes, bytes], data: bytes, max_bytes: int) -> Any:
    """The whole body as JSON: 413 over `max_bytes`, None when empty, 415 for non-JSON, 400 for bad JSON."""
    if len(data) > max_bytes:
        raise GatiError("GATI515", f"body larger than {max_bytes} bytes")
    if not data:
        return None
    ctype = headers.get(b"content-type")
    if ctype is not None and ctype != b"application/json":
        kind = ctype.decode("latin-1").split(";", 1)[0].strip().lower()
        if kind != "application/json" and not kind.endswith("+json"):
            raise GatiError("GATI514", f"expected application/json, got {kind}")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise GatiError(
            "GATI510", f"malformed JSON at line {exc.lineno}, column {exc.colno} (byte {exc.pos}): {exc.msg}"
        ) from None


def dump_json(value: Any) -> bytes:
    """`orjson.dumps`, falling back to the standard library for integers outside 64 bits."""
    try:
        return orjson.dumps(value)
    except TypeError as exc:
        if "64-bit" not in str(exc):
            raise
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=_plain)
    except ValueError as exc:  # NaN or infinity, which orjson writes as null
        raise TypeError(str(exc)) from None
    return text.encode("utf-8")


def _plain(value: Any) -> Any:
    """What orjson does natively for the types the standard library does not know."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


def unjsonable(value: Any, path: str = "$") -> tuple[str, str] | None:
    """The JSON path and type name of the first value in `value` that has no JSON form (what
    `dump_json` refuses), or None. Walks only on the error path, so it may be slow."""
    if value is None or isinstance(value, str | bool | int | float):
        return None
    if type(value) is dict:
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{path}[{key!r}]", f"key of type {type(key).__name__}"
            found = unjsonable(item, f"{path}.{key}" if key.isidentifier() else f"{path}[{key!r}]")
            if found is not None:
                return found
        return None
    if type(value) is list or type(value) is tuple:
        for i, item in enumerate(value):
            found = unjsonable(item, f"{path}[{i}]")
            if found is not None:
                return found
        return None
    try:
        dump_json(value)
    except TypeError:
        return path, type(value).__name__
    return None


def parse_query(qs: bytes) -> dict[str, str | list[str]]:
    out: dict[str, str | list[str]] = {}
    for key, value in parse_qsl(qs.decode("utf-8", "replace"), keep_blank_values=True):
        prev = out.get(key)
        if prev is None:
            out[key] = value
        elif isinstance(prev, list):
            prev.append(value)
        else:
            out[key] = [prev, value]
    return out
