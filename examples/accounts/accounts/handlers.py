"""HTTP handlers of the accounts API: open, read, list and credit accounts."""

from __future__ import annotations

from accounts.models import Deposit, NewUser, User, UserFilter, UserStatus
from accounts.store import Account
from gati_runtime_min import GlobalContext, HTTPError, LocalContext, Request, Response, get, post


def public(account: Account) -> User:
    """The public view of a stored account."""
    return {
        "id": account.id,
        "name": account.name,
        "email": account.email,
        "status": UserStatus(account.status),
        "balance_cents": account.balance_cents,
    }


@post("/users", status=201)
async def create_user(req: Request[NewUser], res: Response[User], lctx: LocalContext, gctx: GlobalContext) -> None:
    """Open an account."""
    body = req.body
    status = body.get("status", UserStatus.ACTIVE)
    account = await gctx.modules["store"].add(body["name"], body["email"], str(status))
    res.status(201).header("location", f"/users/{account.id}").json(public(account))


@get("/users/{id:int}")
async def get_user(req: Request[None], res: Response[User], lctx: LocalContext, gctx: GlobalContext) -> None:
    """One account."""
    account = await gctx.modules["store"].get(req.params["id"])
    if account is None:
        raise HTTPError(404, "user_not_found", f"no user with id {req.params['id']}")
    res.json(public(account))


@get("/users")
async def list_users(
    req: Request[None, UserFilter], res: Response[list[User]], lctx: LocalContext, gctx: GlobalContext
) -> None:
    """Accounts by id, optionally only those in one status."""
    status = req.query.get("status")
    limit = req.query.get("limit", 50)
    accounts = [a for a in await gctx.modules["store"].all() if status is None or a.status == status]
    res.json([public(a) for a in accounts[:limit]])


@post("/users/{id:int}/deposits")
async def deposit(req: Request[Deposit], res: Response[User], lctx: LocalContext, gctx: GlobalContext) -> None:
    """Credit an account; the answer is the account afterwards."""
    account = await gctx.modules["store"].deposit(req.params["id"], req.body["amount_cents"])
    if account is None:
        raise HTTPError(404, "user_not_found", f"no user with id {req.params['id']}")
    res.json(public(account))
