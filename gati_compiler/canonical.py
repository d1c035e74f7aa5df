"""One way to turn data artifacts into bytes: canonical JSON, and the digests built on it."""

from __future__ import annotations

import hashlib
import json
from typing import Final

import orjson
from pydantic import JsonValue

ENCODING: Final = "utf-8"


_ORJSON_OPTIONS: Final = orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2


def canonical_bytes(obj: JsonValue) -> bytes:
    """Serialize `obj` with sorted keys, two-space indent, real UTF-8 and a trailing newline.

    orjson produces exactly what `json.dumps(sort_keys=True, indent=2, ensure_ascii=False)` does,
    many times faster; integers beyond 64 bits fall back to the standard library.
    """
    try:
        return orjson.dumps(obj, option=_ORJSON_OPTIONS) + b"\n"
    except TypeError:
        return (json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode(ENCODING)


def canonical_json(obj: JsonValue) -> str:
    return canonical_bytes(obj).decode(ENCODING)


def compact_json(obj: JsonValue) -> str:
    """The hashing form: sorted keys, no whitespace."""
    try:
        return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode(ENCODING)
    except TypeError:
        return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()
