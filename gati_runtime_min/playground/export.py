"""Recorded requests as a pytest module (`export_tests`): one test per trace, which sends the
stored request to the app through `gati_runtime_min.testing.AppClient` (in-process, the build in
`BUILD`: `.gati` unless `GATI_BUILD` names another) and asserts the status and JSON body it got.

Each test starts the app afresh, so its state is the start-up state, not what the requests
before it left. Values that change from run to run (ids, dates) are left out of the comparison
by key (`ignore=("id", "created_at")`), at any depth. A header whose recorded value was redacted
(an API key, a cookie) is read from the environment when the test runs, `GATI_HEADER_<NAME>`
(`x-api-key` -> `GATI_HEADER_X_API_KEY`); the test fails naming the variable if it is not set.

The text is a formatted module that `ruff check`, `ruff format --check` and `mypy --strict` accept
(strings are written in ASCII, other characters escaped).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from gati_runtime_min.playground.trace import Trace

REDACTED: Final = "[redacted]"
# request headers that belong to the connection or the recorded run, not to the request
SKIP_HEADERS: Final = frozenset(
    {
        "host",
        "content-length",
        "connection",
        "accept-encoding",
        "transfer-encoding",
        "x-request-id",
        "traceparent",
        "tracestate",
        "x-gati-replay-of",
    }
)
LINE: Final = 120
_NOT_NAME: Final = re.compile(r"[^0-9a-z]+")

_HEAD: Final = '''\
"""Replays of requests recorded by the Gati playground ({count}).

Each test starts the app of the build in `BUILD` in-process, sends the recorded request and
checks the recorded status and JSON body{ignoring}. Redacted headers are read from
`GATI_HEADER_<NAME>` variables.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from gati_runtime_min.testing import AppClient

BUILD = Path(os.environ.get("GATI_BUILD", ".gati"))
IGNORE: frozenset[str] = {ignore}


def without_ignored(value: Any) -> Any:
    """`value` without the keys in `IGNORE`, at any depth."""
    if isinstance(value, dict):
        return {{k: without_ignored(v) for k, v in value.items() if k not in IGNORE}}
    if isinstance(value, list):
        return [without_ignored(v) for v in value]
    return value


def redacted(name: str) -> str:
    """The value of a header that was redacted when recorded, from `GATI_HEADER_<NAME>`."""
    variable = "GATI_HEADER_" + name.upper().replace("-", "_")
    value = os.environ.get(variable)
    if value is None:
        pytest.fail(f"header {{name}} was redacted when recorded: set {{variable}} to send it")
    return value


def send(method: str, path: str, query: str, headers: dict[str, str], body: Any) -> httpx.Response:
    """The request, sent to a fresh app of `BUILD`."""

    async def go() -> httpx.Response:
        async with AppClient(BUILD) as client:
            url = f"{{path}}?{{query}}" if query else path
            if body is None:
                return await client.request(method, url, headers=headers)
            return await client.request(method, url, headers=headers, json=body)

    return asyncio.run(go())
'''


def request_headers(trace: Trace, *, skip: Iterable[str] = ()) -> tuple[dict[str, str], list[str]]:
    """The recorded request headers worth sending again (lower-case names) and the names whose
    value was redacted (left out of the first)."""
    leave = SKIP_HEADERS | frozenset(n.lower() for n in skip)
    out: dict[str, str] = {}
    hidden: list[str] = []
    for name, value in trace.headers:
        key = name.lower()
        if key in leave:
            continue
        if value == REDACTED:
            hidden.append(key)
        else:
            out[key] = value
    return out, hidden


def export_tests(traces: Sequence[Trace], ignore: Iterable[str] = ()) -> str:
    """A pytest module with one test per trace (in the order given)."""
    keys = sorted(set(ignore))
    ignoring = f", leaving out the keys {', '.join(keys)}" if keys else ""
    text = _HEAD.format(
        count=_plural(len(traces), "request"),
        ignoring=ignoring,
        ignore="frozenset({" + ", ".join(literal(k) for k in keys) + "})" if keys else "frozenset()",
    )
    names: set[str] = set()
    for trace in traces:
        text += "\n\n" + _test(trace, names)
    if any(len(line) > LINE for line in text.splitlines()):  # a long string of the recorded data
        text = "# ruff: noqa: E501\n" + text
    return text


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _test(trace: Trace, names: set[str]) -> str:
    stem = _NOT_NAME.sub("_", f"test_{trace.handler_id or 'unmatched'}_{trace.request_id}".lower()).strip("_")
    name, n = stem, 2
    while name in names:
        name, n = f"{stem}_{n}", n + 1
    names.add(name)
    headers, hidden = request_headers(trace)
    response = trace.response or {}
    status = int(response.get("status") or trace.status)
    expected = response.get("body")
    body = trace.body
    lines = [
        f"def {name}() -> None:",
        f'    """{_doc(trace, status)}"""',
        assign("headers", headers, 4, "dict[str, str]"),
    ]
    for key in hidden:
        lines.append(f"    headers[{literal(key)}] = redacted({literal(key)})")
    lines.append(assign("body", body, 4, "Any"))
    call = f"send({literal(trace.method)}, {literal(trace.path)}, {literal(trace.query or '')}, headers, body)"
    lines.append(_wrapped(f"    response = {call}", "    response = send(", [*_args(trace), "headers", "body"]))
    lines.append(f"    assert response.status_code == {status}")
    if isinstance(expected, dict) and set(expected) == {"$text"}:
        lines.append(assign("expected", expected["$text"], 4, "str"))
        lines.append("    assert response.text == expected")
    elif expected is None:
        lines.append('    assert response.content == b""')
    else:
        lines.append(assign("expected", expected, 4, "Any"))
        lines.append("    assert without_ignored(response.json()) == without_ignored(expected)")
    return "\n".join(lines) + "\n"


def _args(trace: Trace) -> list[str]:
    return [literal(trace.method), literal(trace.path), literal(trace.query or "")]


def _wrapped(one_line: str, opening: str, args: list[str]) -> str:
    if len(one_line) <= LINE:
        return one_line
    indent = " " * (len(opening) - len(opening.lstrip()))
    return opening + "\n" + "".join(f"{indent}    {a},\n" for a in args) + indent + ")"


def _doc(trace: Trace, status: int) -> str:
    version = f" as API version {trace.version}" if trace.version else ""
    text = f"{trace.method} {trace.path}{version} answered {status} (recorded request {trace.request_id})."
    return text.encode("unicode_escape").decode().replace('"', "'")  # ASCII, and no quote ends it


def assign(name: str, value: Any, indent: int, annotation: str) -> str:
    """`name: annotation = value` as `ruff format` writes it."""
    return block(f"{' ' * indent}{name}: {annotation} = ", value, indent, "")


def block(prefix: str, value: Any, indent: int, suffix: str) -> str:
    """`prefix` + the literal of `value` + `suffix`: on one line if it fits, else the outer
    brackets split, one item a line with a trailing comma (recursively), as `ruff format` does."""
    flat = prefix + literal(value) + suffix
    if len(flat) <= LINE or not isinstance(value, dict | list) or not value:
        return flat
    pad = " " * (indent + 4)
    items: list[str]
    if isinstance(value, dict):
        opening, closing = "{", "}"
        items = [block(f"{pad}{literal(str(k))}: ", v, indent + 4, ",") for k, v in value.items()]
    else:
        opening, closing = "[", "]"
        items = [block(pad, v, indent + 4, ",") for v in value]
    return prefix + opening + "\n" + "\n".join(items) + "\n" + " " * indent + closing + suffix


def literal(value: Any) -> str:
    """A JSON value as a Python literal, on one line, in `ruff format`'s spelling."""
    if value is None:
        return "None"
    if value is True:
        return "True"
    if value is False:
        return "False"
    if isinstance(value, int | float):
        return repr(value).replace("e+", "e")  # `1e16`, as the formatter writes it
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(str(k))}: {literal(v)}" for k, v in value.items()) + "}"
    return _string(str(value))


def _string(text: str) -> str:
    quote = "'" if text.count('"') > text.count("'") else '"'
    out = [quote]
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == quote:
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif 32 <= ord(ch) < 127:
            out.append(ch)
        elif ord(ch) < 0x100:  # control characters, and all others escaped: ASCII source that no
            out.append(f"\\x{ord(ch):02x}")  # linter finds confusable, one column per character
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append(quote)
    return "".join(out)
