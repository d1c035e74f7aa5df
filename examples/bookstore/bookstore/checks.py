"""Route hooks that handlers attach by name."""

from __future__ import annotations

from typing import Any

from gati_runtime_min import GlobalContext, HTTPError, LocalContext, Request, Response, after, before, catch


@before(timeout=0.5)
async def require_known_author(req: Request[Any], res: Response[Any], lctx: LocalContext, gctx: GlobalContext) -> None:
    """Reject a new book whose author does not exist.

    Before hooks run ahead of request validation, so the body may still be malformed here; the
    validator reports that, this hook only checks a well-formed author id.
    """
    body = req.body
    author_id = body.get("author_id") if isinstance(body, dict) else None
    if isinstance(author_id, int) and await gctx.modules["store"].get_author(author_id) is None:
        raise HTTPError(422, "unknown_author", f"no author with id {author_id}")


@after
def audit(req: Request[Any], res: Response[Any], lctx: LocalContext, gctx: GlobalContext) -> None:
    """Log every change to the catalogue."""
    lctx.log("catalogue changed", method=req.method, path=req.path)


@catch(retries=0)
def count_failures(
    error: Exception, req: Request[Any], res: Response[Any], lctx: LocalContext, gctx: GlobalContext
) -> None:
    """Count failed order operations per error type."""
    lctx.set("failure", type(error).__name__)
