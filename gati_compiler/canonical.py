"""One way to turn data artifacts into bytes: canonical JSON, and the digests built on it."""

from __future__ import annotations

import hashlib
import json
from typing import Final

from pydantic import JsonValue

ENCODING: Final = "utf-8"


def canonical_json(obj: JsonValue) -> str:
    """Serialize `obj` with sorted keys, two-space indent, real UTF-8 and a trailing newline."""
    return json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def canonical_bytes(obj: JsonValue) -> bytes:
    return canonical_json(obj).encode(ENCODING)


def compact_json(obj: JsonValue) -> str:
    """The hashing form: sorted keys, no whitespace."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()
