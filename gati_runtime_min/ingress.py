"""Ingress helpers: header normalisation, query parsing, the JSON body with its size limit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

import orjson

from gati_runtime_min.errors import GatiError

Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]


class ClientDisconnected(Exception):
    """The client went away before sending the whole body."""


async def read_json_body(headers: Mapping[str, str], receive: Receive, max_bytes: int) -> Any:
    """The parsed JSON body (None when empty): 413 over `max_bytes`, 415 for non-JSON, 400 for bad JSON."""
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise GatiError("GATI515", f"body larger than {max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > max_bytes:
            raise GatiError("GATI515", f"body larger than {max_bytes} bytes")
        chunks.append(chunk)
        more = message.get("more_body", False)
    data = b"".join(chunks)
    if not data:
        return None
    ctype = headers.get("content-type", "application/json").split(";", 1)[0].strip().lower()
    if ctype != "application/json" and not ctype.endswith("+json"):
        raise GatiError("GATI514", f"expected application/json, got {ctype}")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise GatiError(
            "GATI510", f"malformed JSON at line {exc.lineno}, column {exc.colno} (byte {exc.pos}): {exc.msg}"
        ) from None


def join_headers(raw: Any) -> dict[str, str]:
    headers: dict[str, str] = {}
    for k, v in raw:
        name, value = k.decode("latin-1").lower(), v.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


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
