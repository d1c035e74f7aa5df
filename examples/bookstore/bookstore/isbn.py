"""ISBN checks from the out-of-process Python module in `modules/isbn.py`.

The class is the module's typed interface (the build reads it; mypy checks calls against it); the
runtime runs `modules/isbn.py` with the server's own interpreter and calls it over JSON-RPC.
"""

from __future__ import annotations

from typing import Annotated, Literal, Protocol

from pydantic import Field
from typing_extensions import TypedDict

from gati_runtime_min import method, module

INVALID_ISBN = -32011  # the module's error code for a malformed number


class NormalizedIsbn(TypedDict):
    isbn13: Annotated[str, Field(pattern=r"^97[89]\d{10}$")]
    prefix: Literal["978", "979"]
    was_isbn10: bool


@module("isbn", command=["{python}", "modules/isbn.py"], timeout=1.0)
class IsbnChecker(Protocol):
    """ISBN arithmetic, out of process."""

    @method(idempotent=True, retries=1)
    async def normalize(self, isbn: str) -> NormalizedIsbn:
        """The ISBN-13 form of an ISBN-10 or ISBN-13."""
        ...
