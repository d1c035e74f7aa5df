"""The bookstore's `isbn` module, out of process in Python: `gctx.modules["isbn"]`.

It runs as its own process (`{python} modules/isbn.py`, the server's interpreter) and answers
JSON-RPC 2.0 on stdio through `gati_runtime_min.modules.server.serve`; its typed interface, which
the build reads and mypy checks calls against, is `bookstore/isbn.py`. Declaring no egress, it
runs without network access.
"""

from __future__ import annotations

from gati_runtime_min.modules.server import ModuleError, serve

INVALID_ISBN = -32011  # the error code the interface documents for a malformed number


def _digits(isbn: str) -> str:
    return "".join(c for c in isbn.upper() if c.isdigit() or c == "X")


def _isbn10_ok(d: str) -> bool:
    if len(d) != 10 or "X" in d[:9]:
        return False
    total = sum((10 - i) * (10 if c == "X" else int(c)) for i, c in enumerate(d))
    return total % 11 == 0


def _isbn13_check(first12: str) -> int:
    return (10 - sum((3 if i % 2 else 1) * int(c) for i, c in enumerate(first12)) % 10) % 10


class Isbn:
    """ISBN arithmetic: checksums and the ISBN-10 to ISBN-13 conversion."""

    def normalize(self, isbn: str) -> dict[str, object]:
        """The ISBN-13 of `isbn` (ISBN-10 or ISBN-13, hyphens and spaces allowed), and its prefix."""
        d = _digits(isbn)
        if len(d) == 10 and _isbn10_ok(d):
            first12 = "978" + d[:9]
            isbn13 = first12 + str(_isbn13_check(first12))
        elif len(d) == 13 and d.isdigit() and d[:3] in ("978", "979") and _isbn13_check(d[:12]) == int(d[12]):
            isbn13 = d
        else:
            raise ModuleError(f"{isbn!r} is not a valid ISBN-10 or ISBN-13", INVALID_ISBN, {"isbn": isbn})
        return {"isbn13": isbn13, "prefix": isbn13[:3], "was_isbn10": len(d) == 10}


if __name__ == "__main__":
    serve(Isbn())
