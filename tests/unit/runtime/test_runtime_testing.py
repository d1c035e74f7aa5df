"""`gati_runtime_min.testing`: one handler with fake contexts and mock modules."""

from __future__ import annotations

from typing import Any, TypedDict

import pytest

from gati_runtime_min import GlobalContext, HTTPError, LocalContext, Request, Response, post
from gati_runtime_min.testing import MockModule, run_handler_sync


class NewUser(TypedDict):
    name: str


class User(NewUser):
    id: str


@post("/users", status=201, modules=["db", "mail"])
async def create_user(req: Request[NewUser], res: Response[User], lctx: LocalContext, gctx: GlobalContext) -> None:
    if req.body["name"] == "taken":
        raise HTTPError(409, "name_taken", "that name is taken")
    row = await gctx.modules["db"].insert("users", req.body)
    gctx.modules.mail.send(to=row["name"])
    lctx.set("created", row["id"])
    res.status(201).json(User(id=row["id"], name=row["name"]))


def greet(req: Request[None], res: Response[dict[str, str]], lctx: LocalContext, gctx: GlobalContext) -> None:
    res.header("x-greeting", gctx.config["greeting"]).json({"hello": req.params["who"]})


def test_handler_with_mock_modules_records_calls() -> None:
    db = MockModule(insert=lambda table, row: {"id": "u1", **row})
    mail = MockModule(send=None, sync=("send",))
    result = run_handler_sync(create_user, body={"name": "Ada"}, modules={"db": db, "mail": mail})
    assert result.status == 201
    assert result.body == {"id": "u1", "name": "Ada"}
    assert result.error is None
    assert db.calls[0].method == "insert" and db.calls[0].args == ("users", {"name": "Ada"})
    assert mail.called("send")[0].kwargs == {"to": "Ada"}
    assert result.lctx.get("created") == "u1"


def test_http_error_is_a_result() -> None:
    result = run_handler_sync(create_user, body={"name": "taken"}, modules={"db": MockModule()})
    assert result.status == 409
    assert result.error is not None and result.error.code == "name_taken"
    assert result.body is None


def test_sync_handler_with_config_and_params() -> None:
    result = run_handler_sync(greet, params={"who": "Bo"}, config={"greeting": "hey"})
    assert result.body == {"hello": "Bo"} and result.headers == {"x-greeting": "hey"}


def test_mock_module_rejects_unknown_methods() -> None:
    db = MockModule(insert={"id": "1"})
    with pytest.raises(AttributeError):
        db.update  # noqa: B018


def test_other_exceptions_propagate() -> None:
    def boom(req: Request[Any], res: Response[None], lctx: LocalContext, gctx: GlobalContext) -> None:
        raise KeyError("x")

    with pytest.raises(KeyError):
        run_handler_sync(boom)
