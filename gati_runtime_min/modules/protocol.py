"""The wire protocol between the runtime and an out-of-process module (see docs/module-protocol.md).

JSON-RPC 2.0, one JSON text per line (UTF-8, `\\n`-terminated) on the module's stdin (requests and
notifications from the runtime) and stdout (responses and notifications from the module). The
framing is safe because a JSON text never holds a raw newline: JSON escapes control characters
inside strings (`\\n` is written as the two characters `\\` `n`), and the serialisers on both sides
emit no whitespace between tokens, so the only `0x0A` byte on the wire is the frame separator.
"""

from __future__ import annotations

from typing import Final

VERSION: Final = "2.0"

# notifications (no "id")
READY: Final = "$/ready"  # module -> runtime, once, when it accepts requests: {"methods": [...], "pid": int}
CANCEL: Final = "$/cancel"  # runtime -> module: {"id": <request id>} — the caller stopped waiting
SHUTDOWN: Final = "$/shutdown"  # runtime -> module: finish or drop what runs, then exit 0

# JSON-RPC error codes the runtime understands
PARSE_ERROR: Final = -32700
INVALID_REQUEST: Final = -32600
METHOD_NOT_FOUND: Final = -32601
INVALID_PARAMS: Final = -32602
INTERNAL_ERROR: Final = -32603
APPLICATION_ERROR: Final = -32000  # the method raised; "message" is the module's own message
CAPABILITY_REFUSED: Final = -32044  # the module was refused something it does not declare (egress)

# codes that mean "the module disagrees with the declared interface" (GATI543 rather than GATI542)
CONTRACT_CODES: Final = frozenset({METHOD_NOT_FOUND, INVALID_PARAMS})

# environment the runtime sets for every module process
ENV_MODULE_ID: Final = "GATI_MODULE_ID"
ENV_EGRESS: Final = "GATI_MODULE_EGRESS"  # comma-separated "host:port" list; empty: no egress declared
ENV_ISOLATED: Final = "GATI_MODULE_NETNS"  # "1" when the process runs in its own network namespace
ENV_JS_HELPER: Final = (
    "GATI_MODULE_JS"  # a file URL of the shipped Node helper: `await import(process.env.GATI_MODULE_JS)`
)
PYTHON_PLACEHOLDER: Final = "{python}"  # a command word replaced by the server's own interpreter

LINE_LIMIT: Final = 64 * 1024 * 1024  # the longest frame a reader accepts (bytes)
