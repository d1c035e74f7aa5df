"""Snapshots and redaction (`playground/snapshot.py`): what a snapshot hides (secret headers, secret
keys at any depth, `Secret` objects, values the app's secret store handed out), the paths it names,
and what `restore` does with values it cannot bring back."""

from __future__ import annotations

import asyncio
import dataclasses
import enum
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from gati_runtime_min import GatiApp
from gati_runtime_min.context import LocalContext
from gati_runtime_min.messages import Principal, Request
from gati_runtime_min.playground.snapshot import (
    REDACTED,
    NotRestorable,
    Redactor,
    StateSnapshot,
    Unrestorable,
    decode,
    encode,
    restore,
    take,
)
from gati_runtime_min.secrets import MemoryProvider, Secret, SecretStore
from tests.apps import build_files


@dataclasses.dataclass
class Account:
    owner: str
    key: Secret
    notes: list[str]


class Order(BaseModel):
    sku: str
    quantity: int
    card_token: str = ""


class Size(enum.IntEnum):
    SMALL = 1
    LARGE = 2


def request(headers: dict[str, str] | None = None, body: Any = None, user: Principal | None = None) -> Request[Any]:
    return Request(
        body=body, query={"page": "1"}, params={"id": 7}, headers=headers or {}, method="POST", path="/orders/7",
        request_id="01REQ", client="127.0.0.1:1", user=user,
    )  # fmt: skip


def context(**state: Any) -> LocalContext:
    lctx = LocalContext._new("01REQ", "/orders/7", None, False, 0.0)
    for key, value in state.items():
        lctx.set(key, value)
    return lctx


def test_secret_headers_are_redacted_by_name_by_configured_name_and_by_value() -> None:
    redactor = Redactor(["s3cr3t-value-long"], headers={"authorization", "cookie", "x-team-key"})
    pairs = [
        ("authorization", "Bearer abc"),
        ("cookie", "sid=1"),
        ("x-team-key", "k1"),
        ("x-session-token", "t"),  # the name looks secret
        ("x-forwarded-note", "carries s3cr3t-value-long inside"),  # a known value inside
        ("content-type", "application/json"),
    ]
    assert redactor.headers(pairs) == [
        ("authorization", REDACTED),
        ("cookie", REDACTED),
        ("x-team-key", REDACTED),
        ("x-session-token", REDACTED),
        ("x-forwarded-note", REDACTED),
        ("content-type", "application/json"),
    ]
    default = Redactor()
    names = ["authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"]
    assert all(v == REDACTED for _, v in default.headers((n, "x") for n in names))


def test_secrets_in_state_are_redacted_at_any_depth_and_reported_by_path() -> None:
    redactor = Redactor(["hunter2"])
    lctx = context(
        password="pw",
        user={"name": "ada", "profiles": [{"api_key": "k", "bio": "hi"}, {"bio": "hunter2"}]},
        account=Account("ada", Secret("bank", "iban"), ["ok", "hunter2"]),
        order=Order(sku="b1", quantity=2, card_token="tok"),
        plain="nothing to hide",
    )
    snap = take("before handler", request(), lctx, redactor)
    assert snap.state["password"] == {"$type": "redacted"}
    assert snap.state["user"]["profiles"] == [
        {"api_key": {"$type": "redacted"}, "bio": "hi"},
        {"bio": {"$type": "redacted"}},
    ]
    assert snap.state["account"]["fields"]["key"] == {"$type": "redacted"}
    assert snap.state["account"]["fields"]["notes"] == ["ok", {"$type": "redacted"}]
    assert snap.state["order"]["fields"] == {"sku": "b1", "quantity": 2, "card_token": {"$type": "redacted"}}
    assert snap.state["plain"] == "nothing to hide"
    assert snap.redacted == [
        "$.state.password",
        "$.state.user.profiles[0].api_key",
        "$.state.user.profiles[1].bio",
        "$.state.account.key",
        "$.state.account.notes[1]",
        "$.state.order.card_token",
    ]
    assert "hunter2" not in str(snap.to_json()) and "iban" not in str(snap.to_json())


def test_the_request_headers_body_user_messages_and_events_are_redacted_too() -> None:
    redactor = Redactor(["tok-123456789"])
    user = Principal("ada", frozenset({"admin"}), "jwt", {"sub": "ada", "session_token": "x"})
    req = request({"authorization": "Bearer tok-123456789", "x-id": "1"}, {"password": "p", "sku": "b1"}, user)
    lctx = context()
    lctx.publish("audit", {"who": "ada", "token": "tok-123456789"})
    lctx.event("login", secret="s", ok=True)
    snap = take("after handler", req, lctx, redactor)
    assert snap.request["headers"] == [["authorization", REDACTED], ["x-id", "1"]]
    assert snap.request["body"] == {"password": REDACTED, "sku": "b1"}
    assert snap.request["user"]["claims"] == {"sub": "ada", "session_token": REDACTED}
    assert snap.published[0][1] == {"who": "ada", "token": {"$type": "redacted"}}
    assert snap.events[-1][2] == {"secret": {"$type": "redacted"}, "ok": True}
    assert snap.redacted == [
        "$.request.headers.authorization",
        "$.request.body.password",
        "$.request.user.claims.session_token",
        "$.published[0].message.token",
        "$.events[1].detail.secret",
    ]


def test_value_gives_the_plain_json_form_and_the_redacted_paths() -> None:
    redactor = Redactor(["abc"])
    value = {"a": [1, {"secret_answer": 42}], "b": "abc", "c": Size.LARGE, "d": Order(sku="x", quantity=1)}
    form, paths = redactor.value(value)
    assert form == {
        "a": [1, {"secret_answer": REDACTED}],
        "b": REDACTED,
        "c": 2,
        "d": {"sku": "x", "quantity": 1, "card_token": REDACTED},  # an empty secret is still hidden
    }
    assert paths == ["$.a[1].secret_answer", "$.b", "$.d.card_token"]


def test_a_secret_read_after_the_redactor_was_made_is_redacted_from_then_on() -> None:
    store = SecretStore([MemoryProvider({"stripe_key": "sk_live_0123456789", "pin": "42"})], ttl=0)
    redactor = Redactor()
    store.observe(redactor.learn)
    assert redactor.value("sk_live_0123456789")[0] == "sk_live_0123456789"  # not read yet: not known
    asyncio.run(store.read("stripe_key"))
    asyncio.run(store.read("pin"))
    assert redactor.value({"k": "sk_live_0123456789", "msg": "key=sk_live_0123456789"})[0] == {
        "k": REDACTED,
        "msg": REDACTED,
    }
    # a short value is redacted where it is the whole string, not inside others ("42" is everywhere)
    assert redactor.value(["42", "page 42"])[0] == [REDACTED, "page 42"]


FILES = {
    "pyproject.toml": """
        [project]
        name = "vaulted"
        version = "0.1.0"

        [tool.gati]
        name = "vaulted"
        sources = ["vaulted"]

        [tool.gati.auth.api_keys]
        keys_env = "PGS_API_KEYS"
        header = "x-team-key"

        [tool.gati.secrets]
        providers = ["env"]
        env_prefix = "PGS_"
    """,
    "vaulted/__init__.py": "",
    "vaulted/handlers.py": """
        from typing_extensions import TypedDict

        from gati_runtime_min import GlobalContext, LocalContext, Request, Response, get


        class Out(TypedDict):
            ok: bool


        @get("/ping", secrets=["db_password"])
        async def ping(req: Request[None], res: Response[Out], lctx: LocalContext, gctx: GlobalContext) -> None:
            res.json({"ok": True})
    """,
}


def test_for_app_knows_the_api_key_header_the_keys_and_every_secret_the_app_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGS_API_KEYS", "team-key-0001=reader")
    monkeypatch.setenv("PGS_DB_PASSWORD", "correct-horse-battery")
    app = GatiApp(build_files(tmp_path, FILES))
    redactor = Redactor.for_app(app)
    assert redactor.headers([("x-team-key", "anything"), ("x-note", "team-key-0001")]) == [
        ("x-team-key", REDACTED),
        ("x-note", REDACTED),
    ]
    assert redactor.value("correct-horse-battery")[0] == "correct-horse-battery"
    asyncio.run(app.gctx.secrets.get("db_password"))
    assert redactor.value({"dsn": "postgres://u:correct-horse-battery@db"})[0] == {"dsn": REDACTED}


def test_values_with_no_json_form_are_kept_as_their_repr_and_restore_names_them() -> None:
    lctx = context(conn=object(), password="pw", fine=(1, 2))
    snap = take("before hook auth", request(), lctx, Redactor())
    assert snap.state["conn"]["$type"] == "repr" and "object object" in snap.state["conn"]["repr"]
    assert snap.unrestorable == ["$.state.conn"]
    with pytest.raises(NotRestorable) as caught:
        restore(snap)
    assert caught.value.paths == ["$.state.conn", "$.state.password"]
    assert "$.state.conn" in str(caught.value)
    _, lctx2 = restore(snap, strict=False)
    assert lctx2.get("fine") == (1, 2)
    marker = lctx2.get("conn")
    assert isinstance(marker, Unrestorable) and marker.path == "$.state.conn"
    assert isinstance(lctx2.get("password"), Unrestorable)


def test_a_class_whose_module_is_not_loaded_is_not_imported_to_restore_it() -> None:
    form = {"$type": "dataclass", "class": "not_a_loaded_module:Thing", "fields": {"x": 1}}
    with pytest.raises(NotRestorable) as caught:
        decode(form, "$.state.thing")
    assert caught.value.paths == ["$.state.thing"]
    Local = enum.Enum("Local", "A B")  # made here: its module has no `Local`, so it is not found
    value, _, unrestorable = encode(Local.A)
    assert unrestorable == [] and value["$type"] == "enum"
    assert isinstance(decode(value, strict=False), Unrestorable)


def test_models_enums_and_dataclasses_of_loaded_modules_come_back_as_themselves() -> None:
    value = {"order": Order(sku="b", quantity=3), "size": Size.SMALL, "acct": [Account("a", Secret("n", "v"), [])]}
    form, redacted, _ = encode(value, Redactor(keys=["password"]))
    assert redacted == ["$.acct[0].key"]
    back = decode(form, strict=False)
    assert back["order"] == Order(sku="b", quantity=3) and back["size"] is Size.SMALL
    assert back["acct"][0].owner == "a" and isinstance(back["acct"][0].key, Unrestorable)


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"$type": "datetime", "value": "yesterday"}, "$.state.x: not a datetime value"),
        ({"$type": "bytes", "base64": "***"}, "$.state.x: not a bytes value"),
        ({"$type": "tuple"}, "$.state.x: a 'tuple' value needs 'items'"),
        ({"$type": "nope"}, "$.state.x: unknown $type 'nope'"),
        ({"a": [{"$type": "set", "items": 3}]}, "$.state.x.a[0]: `items` is not a list"),
    ],
)
def test_a_malformed_typed_form_is_a_value_error_naming_its_path(form: Any, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("$", r"\$").replace("[", r"\[")):
        decode(form, "$.state.x")


def test_from_json_refuses_what_is_not_a_snapshot() -> None:
    with pytest.raises(ValueError, match="not a snapshot"):
        StateSnapshot.from_json({"position": "before handler"})
