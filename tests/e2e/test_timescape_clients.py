"""Three generations of clients against one running server (issue 12, point 7): `examples/accounts`.

The accounts example records three versions in its `timescape.lock`:

- v1.0.0: `NewUser {full_name, email, status?}`, `User {id, full_name, email, status, balance: "12.34",
  avatar_url}`, status `active | disabled`, `Deposit {amount: "12.34"}`;
- v2.0.0: `full_name` renamed `name` (request and response), `avatar_url` removed;
- v3.0.0 (the working tree): `balance` became `balance_cents: int`, the deposit `amount` became
  `amount_cents: int` (hand-written transformers), and the status `disabled` became `suspended`
  (in the create body, the `?status=` filter and every answer).

The example is built (`.gati/timescape/serving.json`, the per-version validators) and served by
real uvicorn on 127.0.0.1. A client of v1.0.0, one of v2.0.0 and one of the current version then
share one store through that one process, and each gets every answer in its own shape: old field
names, old enum values, old types, 422s naming its own fields. A copy whose v1.0.0 was retired
(`gatic version retire`) answers v1 clients 410 and keeps serving v2 clients in their shape; in a
copy with a transformer that raises and one that answers the wrong shape, their clients get 500
GATI523 / GATI524 and the server log names the transformer (`module:function`).

Every client is the generated Python SDK: the current one its root `Client`, the old ones the
clients it pins to each live version (`versions.client_for("v1.0.0")`), which send the version's
TSV in `X-Gati-Version` and decode every answer with that version's own decoders.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_examples_served import (  # type: ignore[import-not-found, unused-ignore]  # a sibling test module, not a package
    ROOT,
    Served,
    build_copy,
    import_sdk,
    serve_build,
)

EXAMPLE = ROOT / "examples" / "accounts"
V1, V2, V3 = "v1.0.0", "v2.0.0", "v3.0.0"
TSV = {V1: "2026-09-01T09:00:00Z", V2: "2026-10-01T09:00:00Z", V3: "2026-11-02T09:00:00Z"}


# ---------------------------------------------------------------- a client pinned to one version
class VersionedClient:
    """The generated SDK's client pinned to one recorded version (`versions.client_for(tag)`),
    wrapped so each call returns the raw `httpx.Response` the assertions read: the SDK decodes an
    answer with that version's own decoders (a wrong shape raises), and the last response its
    HTTP client received is returned, an error status included."""

    def __init__(self, sdk: Any, base_url: str, version: str) -> None:
        self.version = version
        self._last: list[httpx.Response] = []
        self.http = httpx.Client(event_hooks={"response": [self._keep]}, timeout=10.0)
        versions = importlib.import_module(sdk.__name__ + ".versions")
        self.sdk = versions.client_for(version)(base_url, http_client=self.http, max_retries=0)
        self._errors = (importlib.import_module(sdk.__name__ + ".errors").APIStatusError,)

    def _keep(self, response: httpx.Response) -> None:
        response.read()
        self._last.append(response)

    def _call(self, method: str, *args: Any, **kwargs: Any) -> httpx.Response:
        self._last.clear()
        with contextlib.suppress(*self._errors):  # the raw response is what the assertions read
            getattr(self.sdk, method)(*args, **kwargs)
        response = self._last[-1]
        assert response.request.headers["x-gati-version"] == sdk_version_header(self.version)
        return response

    def create_user(self, body: dict[str, Any]) -> httpx.Response:
        return self._call("create_user", body=body)

    def get_user(self, user_id: int) -> httpx.Response:
        return self._call("get_user", user_id)

    def list_users(self, **query: str | int) -> httpx.Response:
        return self._call("list_users", **query)

    def deposit(self, user_id: int, body: dict[str, Any]) -> httpx.Response:
        return self._call("deposit", user_id, body=body)

    def close(self) -> None:
        self.http.close()


def sdk_version_header(version: str) -> str:
    """What a pinned client sends: the TSV of its version."""
    return TSV[version]


def versioned_client(served: Served, version: str) -> VersionedClient:
    """The generated client of `version` (a tag) for `served`."""
    return VersionedClient(import_sdk(served), served.base_url, version)


# ---------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    app = tmp_path_factory.mktemp("timescape-clients") / "accounts"
    build_dir = build_copy(EXAMPLE, app)
    with serve_build("accounts", app, build_dir) as server:
        yield server


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.text)
    return response.json()


def _issue_paths(response: httpx.Response, code: str) -> set[str]:
    assert response.status_code == 422, (response.status_code, response.text)
    error = response.json()["error"]
    assert error["code"] == code, error
    return {issue["path"] for issue in error["issues"]}


# ---------------------------------------------------------------- the build
@pytest.mark.slow
def test_build_lists_every_old_version_that_needs_a_transformer(served: Served) -> None:
    import json

    serving = json.loads((served.build_dir / "timescape" / "serving.json").read_text(encoding="utf-8"))
    assert serving["current"] == TSV[V3]
    assert sorted(serving["handlers"]) == ["create_user", "deposit", "get_user", "list_users"]
    chain = serving["handlers"]["deposit"][TSV[V1]]["steps"]
    assert [(s["from"], s["to"]) for s in chain] == [(TSV[V1], TSV[V2]), (TSV[V2], TSV[V3])]
    assert chain[0]["upgrade"] is None  # v1 -> v2 did not change the deposit request
    assert chain[0]["downgrade"] == "accounts.transformers.deposit__v1_0_0:deposit_to_v1_0_0"
    assert chain[1]["upgrade"] == "accounts.transformers.deposit__v2_0_0:deposit_from_v2_0_0"
    assert TSV[V3] not in serving["handlers"]["deposit"]  # the current version needs nothing
    for slug in ("v2026_09_01T090000Z", "v2026_10_01T090000Z"):
        assert (served.build_dir / "timescape" / "validators" / slug / "__init__.py").is_file()
        assert (served.build_dir / f"openapi.{slug}.json").is_file()


# ---------------------------------------------------------------- three generations, one server
@pytest.mark.slow
def test_v1_v2_and_current_clients_each_get_their_own_shape(served: Served) -> None:
    sdk = import_sdk(served)
    v1, v2 = versioned_client(served, V1), versioned_client(served, V2)
    try:
        with sdk.Client(served.base_url) as current:
            _three_generations(served, current, v1, v2)
    except BaseException:
        print(served.server_log())
        raise
    finally:
        v1.close()
        v2.close()


def _three_generations(served: Served, current: Any, v1: VersionedClient, v2: VersionedClient) -> None:
    # create: each client writes the body of its own version and reads the answer in it
    ada = current.create_user(body={"name": "Ada Lovelace", "email": "ada@example.org"})
    assert ada == {"id": ada["id"], "name": "Ada Lovelace", "email": "ada@example.org", "status": "active",
                   "balance_cents": 0}  # fmt: skip
    grace = _ok(v2.create_user({"name": "Grace Hopper", "email": "grace@example.org", "status": "disabled"}), 201)
    assert grace == {"id": grace["id"], "name": "Grace Hopper", "email": "grace@example.org", "status": "disabled",
                     "balance": "0.00"}  # fmt: skip
    alan = _ok(v1.create_user({"full_name": "Alan Turing", "email": "alan@example.org"}), 201)
    assert alan == {"id": alan["id"], "full_name": "Alan Turing", "email": "alan@example.org", "status": "active",
                    "balance": "0.00", "avatar_url": None}  # fmt: skip
    # the upgrades reached the current handler: the store holds current values
    assert current.get_user(grace["id"])["status"] == "suspended"
    assert current.get_user(alan["id"])["name"] == "Alan Turing"

    # deposit: a decimal string from v1/v2 clients, integer cents from current ones, one balance
    after_v2 = _ok(v2.deposit(ada["id"], {"amount": "12.3"}))
    assert after_v2["balance"] == "12.30" and after_v2["name"] == "Ada Lovelace" and "balance_cents" not in after_v2
    assert current.deposit(ada["id"], body={"amount_cents": 70})["balance_cents"] == 1300
    after_v1 = _ok(v1.deposit(ada["id"], {"amount": "0.05"}))
    assert after_v1 == {"id": ada["id"], "full_name": "Ada Lovelace", "email": "ada@example.org", "status": "active",
                        "balance": "13.05", "avatar_url": None}  # fmt: skip

    # read: the same account in three shapes
    assert current.get_user(ada["id"])["balance_cents"] == 1305
    assert _ok(v2.get_user(ada["id"])) == {
        k: v for k, v in after_v1.items() if k not in ("full_name", "avatar_url")
    } | {"name": "Ada Lovelace"}
    got_grace = _ok(v1.get_user(grace["id"]))
    assert got_grace["status"] == "disabled" and got_grace["full_name"] == "Grace Hopper"
    assert got_grace["avatar_url"] is None and got_grace["balance"] == "0.00"

    # list with the query parameter in each version's enum
    assert [u["id"] for u in current.list_users(status="suspended")] == [grace["id"]]
    old_disabled = _ok(v2.list_users(status="disabled"))
    assert [(u["id"], u["status"], u["balance"]) for u in old_disabled] == [(grace["id"], "disabled", "0.00")]
    everyone_v1 = _ok(v1.list_users(limit=10))
    assert [u["full_name"] for u in everyone_v1] == ["Ada Lovelace", "Grace Hopper", "Alan Turing"]
    assert all(set(u) == {"id", "full_name", "email", "status", "balance", "avatar_url"} for u in everyone_v1)
    assert [u["status"] for u in everyone_v1] == ["active", "disabled", "active"]
    assert [u["id"] for u in _ok(v1.list_users(status="active"))] == [ada["id"], alan["id"]]

    # 422s speak each client's own shape and paths
    assert _issue_paths(v1.create_user({"full_name": "", "email": "nobody"}), "GATI511") == {
        "$.body.full_name",
        "$.body.email",
    }
    assert "$.body.full_name" in _issue_paths(v1.create_user({"name": "Ada", "email": "a@b.c"}), "GATI511")
    assert _issue_paths(v2.deposit(ada["id"], {"amount": "1.234"}), "GATI511") == {"$.body.amount"}
    assert _issue_paths(v2.list_users(status="suspended"), "GATI512") == {"$.query.status"}
    assert _issue_paths(v2.create_user({"name": "X", "email": "x@y.z", "status": "suspended"}), "GATI511") == {
        "$.body.status"
    }
    bad_current = httpx.get(f"{served.base_url}/users", params={"status": "disabled"}, timeout=5.0)
    assert _issue_paths(bad_current, "GATI512") == {"$.query.status"}

    # a handler's own error passes every version unchanged
    missing = v1.get_user(999_999)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "user_not_found"
    assert _ok(v2.deposit(999_999, {"amount": "1"}), 404)["error"]["code"] == "user_not_found"

    # the version named by its TSV is served like its tag
    by_tsv = httpx.get(f"{served.base_url}/users/{alan['id']}", headers={"x-gati-version": TSV[V1]}, timeout=5.0)
    assert _ok(by_tsv) == _ok(v1.get_user(alan["id"]))


# ---------------------------------------------------------------- broken transformers
RAISES = "get_user__v2_0_0.py"
WRONG_SHAPE = "deposit__v2_0_0.py"


def _break_two_transformers(project: Path) -> None:
    """`get_user`'s v2.0.0 downgrade raises; `deposit`'s answers a `balance` of the wrong type."""
    folder = project / "accounts" / "transformers"
    raises = folder / RAISES
    text = raises.read_text(encoding="utf-8")
    broken = text.replace("    return user_to_v2(response)\n", '    raise RuntimeError("the ledger is closed")\n')
    assert broken != text
    raises.write_text(broken, encoding="utf-8")
    wrong = folder / WRONG_SHAPE
    text = wrong.read_text(encoding="utf-8")
    broken = text.replace(
        "def deposit_to_v2_0_0(response: NewResponse) -> OldResponse:\n    return user_to_v2(response)\n",
        "def deposit_to_v2_0_0(response: NewResponse) -> OldResponse:\n"
        '    return {**user_to_v2(response), "balance": response["balance_cents"]}  # type: ignore[typeddict-item]\n',
    )
    assert broken != text
    wrong.write_text(broken, encoding="utf-8")


@pytest.mark.slow
def test_a_transformer_that_raises_or_answers_the_wrong_shape_is_a_500_naming_it(tmp_path: Path) -> None:
    app = tmp_path / "accounts"
    build_dir = build_copy(EXAMPLE, app, edit=_break_two_transformers)
    with serve_build("accounts-broken", app, build_dir) as served:
        v2 = versioned_client(served, V2)
        try:
            made = _ok(v2.create_user({"name": "Ada Lovelace", "email": "ada@example.org"}), 201)
            raised = v2.get_user(made["id"])
            assert raised.status_code == 500 and raised.json()["error"]["code"] == "GATI523", raised.text
            wrong = v2.deposit(made["id"], {"amount": "1.00"})
            assert wrong.status_code == 500 and wrong.json()["error"]["code"] == "GATI524", wrong.text
            # the deposit itself went through: the current client sees it, and the current path is untouched
            now = httpx.get(f"{served.base_url}/users/{made['id']}", timeout=5.0)
            assert _ok(now)["balance_cents"] == 100
            log = served.server_log()
            assert "accounts.transformers.get_user__v2_0_0:get_user_to_v2_0_0" in log
            assert "accounts.transformers.deposit__v2_0_0:deposit_to_v2_0_0" in log
        except BaseException:
            print(served.server_log())
            raise
        finally:
            v2.close()


# ---------------------------------------------------------------- a retired version
def _gatic(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    cmd = [sys.executable, "-c", "from gati_compiler.cli import run; run()", *args]
    return subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, timeout=120)


def _retire_v1(project: Path) -> None:
    done = _gatic(project, "version", "retire", V1, ".")
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
def test_retired_version_answers_410_and_the_next_one_keeps_its_shape(tmp_path: Path) -> None:
    app = tmp_path / "accounts"
    build_dir = build_copy(EXAMPLE, app, edit=_retire_v1)
    assert '"retired"' in (app / "timescape.lock").read_text(encoding="utf-8")
    assert '"retired"' not in (EXAMPLE / "timescape.lock").read_text(encoding="utf-8")  # the copy only
    with serve_build("accounts-retired", app, build_dir) as served:
        sdk = import_sdk(served)
        with pytest.raises(KeyError, match=r"no client for version 'v1\.0\.0'"):
            importlib.import_module(sdk.__name__ + ".versions").client_for(V1)  # a retired version has no client
        # a v1 client generated before the retirement still sends its version
        v1 = httpx.Client(base_url=served.base_url, headers={"x-gati-version": TSV[V1]}, timeout=10.0)
        v2 = versioned_client(served, V2)
        try:
            gone = v1.post("/users", json={"full_name": "Alan Turing", "email": "alan@example.org"})
            assert gone.status_code == 410, gone.text
            assert gone.json()["error"]["code"] == "GATI517"
            assert "successor-version" in gone.headers["link"] and TSV[V2] in gone.headers["link"]
            assert v1.get("/users/1").status_code == 410
            made = _ok(
                v2.create_user({"name": "Grace Hopper", "email": "grace@example.org", "status": "disabled"}), 201
            )
            assert made["status"] == "disabled" and made["balance"] == "0.00"
        except BaseException:
            print(served.server_log())
            raise
        finally:
            v1.close()
            v2.close()
