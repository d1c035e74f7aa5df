"""Properties 16 and 17 in one process, on the served `examples/accounts` build (three versions).

- Property 17 (transformer execution): a valid request of an older version, generated from that
  version's own types, is upgraded through the chain, served by the current handler, and its
  answer downgraded back: it is accepted (201), the answer passes the decoder of the client's
  version, and what the handler stored reads back in that version's shape unchanged.
- Property 16 (multi-version routing, in-process half): a client naming any live version in any
  of the ways a client may (TSV, tag, a timestamp inside the version's span) gets the answer of
  that version's shape from the one server.
"""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, Final

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gati_compiler.pipeline import build
from gati_compiler.timescape.verify_values import wire_values
from gati_runtime_min.testing import AppClient

EXAMPLE: Final = Path(__file__).resolve().parents[2] / "examples" / "accounts"
TSV: Final = {"v1.0.0": "2026-09-01T09:00:00Z", "v2.0.0": "2026-10-01T09:00:00Z", "v3.0.0": "2026-11-02T09:00:00Z"}
OLD: Final = ("v1.0.0", "v2.0.0")


class Accounts:
    """The built example, its per-version validators and the wire types of each version."""

    def __init__(self, root: Path) -> None:
        result = build(root)
        assert result.ok and result.lock is not None, [d.message for d in result.diagnostics]
        self.build_dir = root / ".gati"
        self.lock = result.lock
        self.validators = {tag: _load(self.build_dir, tsv) for tag, tsv in TSV.items() if tag in OLD}

    def new_user_values(self, tag: str) -> st.SearchStrategy[Any]:
        """Bodies of `create_user` as a client of `tag` writes them (that version's `NewUser`)."""
        contract = self.lock.contract(TSV[tag])
        handler = contract.handler("create_user")
        assert handler is not None and handler.request is not None
        return wire_values(handler.request, contract.gtypes)

    def accepts_request(self, tag: str, body: Any) -> bool:
        module = self.validators[tag]
        try:
            module.HANDLERS["create_user"].decode_body(body)
        except module.DecodeError:
            return False
        return True

    def check_response(self, tag: str, handler: str, value: Any) -> None:
        """Raises the version's `DecodeError` unless `value` is `handler`'s answer in that shape."""
        self.validators[tag].RESPONSES[handler](value)


def _load(build_dir: Path, tsv: str) -> ModuleType:
    slug = "v" + tsv[:10].replace("-", "_") + "T" + tsv[11:19].replace(":", "") + "Z"
    init = build_dir / "timescape" / "validators" / slug / "__init__.py"
    name = f"_prop17_{slug}"
    spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[str(init.parent)])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def accounts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Accounts]:
    root = tmp_path_factory.mktemp("prop17") / "accounts"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".gati", "__pycache__"))
    sys.modules.pop("accounts", None)
    yield Accounts(root)


def _run(build_dir: Path, calls: list[tuple[str, str, dict[str, str], Any]]) -> list[tuple[int, Any]]:
    async def go() -> list[tuple[int, Any]]:
        out = []
        async with AppClient(build_dir) as client:
            for method, path, headers, body in calls:
                r = await client.request(method, path, headers=headers, json=body)
                out.append((r.status_code, r.json() if r.content else None))
        return out

    return asyncio.run(go())


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_property_17_transformer_execution(accounts: Accounts, data: st.DataObject) -> None:
    tag = data.draw(st.sampled_from(OLD), label="client version")
    body = data.draw(accounts.new_user_values(tag), label="body")
    assume(accounts.accepts_request(tag, body))
    header = {"x-gati-version": tag}
    # one server per example (its store starts empty): ids start at 1
    (status, created), (got_status, got) = _run(
        accounts.build_dir, [("POST", "/users", header, body), ("GET", "/users/1", header, None)]
    )
    assert status == 201, created
    accounts.check_response(tag, "create_user", created)  # the client's own shape, exactly
    assert got_status == 200 and got == created  # stored through the upgrade, read back through the downgrade


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(tag=st.sampled_from(sorted(TSV)), spelling=st.sampled_from(["tag", "tsv", "timestamp", "date"]))
def test_property_16_multi_version_routing(accounts: Accounts, tag: str, spelling: str) -> None:
    tsv = TSV[tag]
    asked = {
        "tag": tag,
        "tsv": tsv,
        "timestamp": tsv.replace("09:00:00Z", "12:30:00+00:00"),
        "date": tsv[:10] + "T23:59:59Z",
    }[spelling]
    calls = [
        ("POST", "/users", {}, {"name": "Ada Lovelace", "email": "ada@example.org"}),
        ("GET", "/users/1", {"x-gati-version": asked}, None),
    ]
    (_, _), (status, user) = _run(accounts.build_dir, calls)
    assert status == 200
    if tag in OLD:
        accounts.check_response(tag, "get_user", user)
    keys = {
        "v1.0.0": {"id", "full_name", "email", "status", "balance", "avatar_url"},
        "v2.0.0": {"id", "name", "email", "status", "balance"},
        "v3.0.0": {"id", "name", "email", "status", "balance_cents"},
    }[tag]
    assert set(user) == keys
