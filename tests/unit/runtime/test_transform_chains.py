"""The compiled Timescape chains (`transform.compiled`): one function per (handler, version).

The chains are built here from plain transformer functions and small checks that raise a
`DecodeError` with issues, as a version's generated validators do; the served path through a
real build is `test_runtime_transformers.py`. These tests pin what the generated functions
answer in the cases the usual benchmark request never takes: no upgrade at all, a version that
checks query and path parameters, an upgrade that also rewrites headers and query, a result that
is not a request object, a failing check of the downgraded body, and instrumentation after
compilation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import pytest

from gati_runtime_min.errors import GatiError
from gati_runtime_min.served import ServedVersion, StepSpec
from gati_runtime_min.transform import TransformerFault, compiled, downgrade, upgraded

OLD, MID, NEW = "2026-09-01T09:00:00Z", "2026-10-01T09:00:00Z", "2026-11-01T09:00:00Z"


class Issue:
    def __init__(self, path: str, message: str) -> None:
        self.path, self.message = path, message

    def to_json(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


class DecodeError(Exception):
    def __init__(self, issues: list[Issue]) -> None:
        super().__init__(issues[0].message)
        self.issues = issues


def requires(*keys: str) -> Callable[[Any], Any]:
    """A check of an object that must hold `keys` (the issue names the first one missing)."""

    def check(value: Any) -> Any:
        if not isinstance(value, dict):
            raise DecodeError([Issue("$", "Expected `object`")])
        for key in keys:
            if key not in value:
                raise DecodeError([Issue(f"$.{key}", f"Object missing required field `{key}`")])
        return dict(value)

    return check


def step(
    frm: str,
    to: str,
    upgrade: Callable[[Any], Any] | None = None,
    downgrade: Callable[[Any], Any] | None = None,
) -> StepSpec:
    names = {k: f"app.transformers:{fn.__name__}" for k, fn in (("upgrade", upgrade), ("downgrade", downgrade)) if fn}
    return StepSpec(from_tsv=frm, to_tsv=to, upgrade=upgrade, downgrade=downgrade, error=None, names=names)


def served(steps: tuple[StepSpec, ...], **parts: Any) -> ServedVersion:
    """A version served through `steps` (oldest first) whose request is the body alone, unless
    `parts` give others."""
    body_check = requires("full_name")
    given: tuple[tuple[str, str, Callable[[Any], Any]], ...] = parts.pop("parts", (("body", "GATI511", body_check),))
    return ServedVersion(
        handler_id="create_user",
        version=OLD,
        check_response=requires("id", "full_name"),
        decode_error=DecodeError,
        parts=given,
        has_body=any(p[0] == "body" for p in given),
        upgrades=tuple(s for s in steps if s.upgrade is not None),
        downgrades=tuple(s for s in reversed(steps) if s.downgrade is not None),
        body_only=given[0][2] if len(given) == 1 and given[0][0] == "body" and not parts.get("header_names") else None,
        **parts,
    )


def rename_up(request: Any) -> Any:
    body = dict(request["body"])
    body["name"] = body.pop("full_name")
    return {"body": body}


def add_nick(request: Any) -> Any:
    return {"body": {**request["body"], "nick": "ada"}}


def rename_down(response: Any) -> Any:
    user = dict(response)
    user["full_name"] = user.pop("name")
    return user


def drop_nick(response: Any) -> Any:
    return {k: v for k, v in response.items() if k != "nick"}


Parts = tuple[Any, dict[str, Any], Mapping[str, str], dict[bytes, bytes], StepSpec | None]


def call_up(
    sv: ServedVersion,
    body: Any,
    query: dict[str, Any] | None = None,
    params: Mapping[str, str] | None = None,
    hdrs: dict[bytes, bytes] | None = None,
) -> Parts:
    run = sv.run_upgrade
    assert run is not None
    out: Parts = run(body, query or {}, params or {}, hdrs or {}, "rid-1")
    return out


def first_path(error: GatiError) -> str:
    assert error.issues
    return str(error.issues[0]["path"])


def test_a_request_goes_through_every_upgrade_in_order_and_names_the_last_step() -> None:
    steps = (step(OLD, MID, rename_up, rename_down), step(MID, NEW, add_nick, drop_nick))
    sv = compiled(served(steps))
    body, query, params, hdrs, last = call_up(sv, {"full_name": "Ada", "email": "a@b"}, {"q": "1"}, {"id": "7"})
    assert body == {"name": "Ada", "email": "a@b", "nick": "ada"}
    assert (query, params, hdrs, last) == ({"q": "1"}, {"id": "7"}, {}, steps[1])


def test_the_uncompiled_entry_points_answer_as_the_compiled_chains() -> None:
    steps = (step(OLD, MID, rename_up, rename_down), step(MID, NEW, add_nick, drop_nick))
    plain, fast = served(steps), compiled(served(steps))
    request = {"full_name": "Ada", "email": "a@b"}
    assert upgraded(plain, request, {}, {}, {}, "r") == call_up(fast, request)
    response = {"id": 7, "name": "Ada", "email": "a@b", "nick": "ada"}
    assert fast.run_downgrade is not None
    assert (
        downgrade(plain, response, "r")
        == fast.run_downgrade(response, "r")
        == {
            "id": 7,
            "email": "a@b",
            "full_name": "Ada",
        }
    )


def test_without_upgrades_the_request_is_checked_and_passed_unchanged() -> None:
    sv = compiled(served((step(OLD, NEW, None, rename_down),)))
    request = {"full_name": "Ada"}
    body, _, _, _, last = call_up(sv, request)
    assert body is request and last is None
    with pytest.raises(GatiError) as caught:
        call_up(sv, {"name": "Ada"})
    assert caught.value.code == "GATI511"
    assert caught.value.issues == [{"path": "$.body.full_name", "message": "Object missing required field `full_name`"}]


def test_a_version_with_query_and_params_checks_each_part_in_its_own_paths() -> None:
    parts = (("params", "GATI513", requires("id")), ("query", "GATI512", requires("page")))
    sv = compiled(served((step(OLD, NEW, None, rename_down),), parts=parts, header_names=("x-tenant",)))
    with pytest.raises(GatiError) as caught:
        call_up(sv, None, {"page": "1"}, {})
    assert caught.value.code == "GATI513" and first_path(caught.value) == "$.params.id"
    with pytest.raises(GatiError) as caught:
        call_up(sv, None, {}, {"id": "7"})
    assert caught.value.code == "GATI512" and first_path(caught.value) == "$.query.page"
    assert call_up(sv, None, {"page": "1"}, {"id": "7"})[:2] == (None, {"page": "1"})


def test_an_upgrade_that_rewrites_query_params_and_headers_reaches_the_current_request() -> None:
    seen: list[Any] = []

    def tenant_to_query(request: Any) -> Any:
        seen.append(request)
        return {
            "query": {**request["query"], "tenant": request["headers"]["x-tenant"]},
            "params": {"id": request["params"]["id"]},
            "headers": {"x-tenant-version": 2},
        }

    parts = (("params", "GATI513", requires("id")), ("query", "GATI512", requires("page")))
    sv = compiled(served((step(OLD, NEW, tenant_to_query),), parts=parts, header_names=("x-tenant",)))
    hdrs = {b"x-tenant": b"acme", b"host": b"h"}
    body, query, params, new_hdrs, last = call_up(sv, None, {"page": "1"}, {"id": "7"}, hdrs)
    assert seen == [{"params": {"id": "7"}, "query": {"page": "1"}, "headers": {"x-tenant": "acme"}}]
    assert body is None and query == {"page": "1", "tenant": "acme"} and params == {"id": "7"}
    assert new_hdrs == {b"x-tenant": b"acme", b"host": b"h", b"x-tenant-version": b"2"}
    assert last is sv.upgrades[0]


def test_an_upgrade_returning_no_request_object_is_gati524_naming_it(caplog: pytest.LogCaptureFixture) -> None:
    def to_list(request: Any) -> Any:
        return [request]

    sv = compiled(served((step(OLD, MID, rename_up), step(MID, NEW, to_list))))
    with caplog.at_level(logging.ERROR, logger="gati.runtime"), pytest.raises(TransformerFault) as caught:
        call_up(sv, {"full_name": "Ada"})
    assert caught.value.code == "GATI524"
    assert "app.transformers:to_list (upgrade, step 2026-10-01T09:00:00Z -> 2026-11-01T09:00:00Z)" in str(
        caught.value.detail
    )
    assert "got list, not a request object" in caplog.text


def test_a_raising_transformer_is_gati523_and_its_logged_traceback_shows_the_chain(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(response: Any) -> Any:
        raise KeyError("balance_cents")

    sv = compiled(served((step(OLD, MID, rename_up, rename_down), step(MID, NEW, add_nick, broken))))
    assert sv.run_downgrade is not None
    with caplog.at_level(logging.ERROR, logger="gati.runtime"), pytest.raises(TransformerFault) as caught:
        sv.run_downgrade({"id": 1, "name": "Ada"}, "rid-9")
    assert caught.value.code == "GATI523" and "app.transformers:broken (downgrade" in str(caught.value.detail)
    assert "request rid-9" in caplog.text
    assert "<timescape chain: downgrade create_user 2026-09-01T09:00:00Z>" in caplog.text
    assert "value = downgrade0(value)" in caplog.text  # the chain's own line, from linecache


def test_a_downgraded_body_the_version_rejects_is_gati524_naming_the_last_downgrade() -> None:
    def lose_id(response: Any) -> Any:
        return {k: v for k, v in response.items() if k != "id"}

    sv = compiled(served((step(OLD, MID, rename_up, lose_id), step(MID, NEW, add_nick, drop_nick))))
    assert sv.run_downgrade is not None
    with pytest.raises(TransformerFault) as caught:
        sv.run_downgrade({"id": 1, "name": "Ada", "nick": "a"}, "r")
    assert caught.value.code == "GATI524"
    assert str(caught.value.detail).startswith("the result of transformer app.transformers:lose_id (downgrade")


def test_without_downgrades_a_rejected_body_is_the_current_handlers_fault() -> None:
    sv = compiled(served((step(OLD, NEW, rename_up),)))
    assert sv.run_downgrade is not None
    assert sv.run_downgrade({"id": 1, "full_name": "Ada"}, "r") == {"id": 1, "full_name": "Ada"}
    with pytest.raises(TransformerFault) as caught:
        sv.run_downgrade({"id": 1, "name": "Ada"}, "r")
    assert caught.value.detail == f"the current handler's response does not match API version {OLD}"


def test_wrapping_the_transformers_drops_the_compiled_chains_and_compiling_again_runs_the_wrappers() -> None:
    calls: list[str] = []

    def wrap(fn: Callable[[Any], Any], st: StepSpec, kind: str, attributes: dict[str, Any]) -> Callable[[Any], Any]:
        def spanned(value: Any) -> Any:
            calls.append(f"{kind} {attributes['gati.transformer.step']}")
            return fn(value)

        return spanned

    sv = compiled(served((step(OLD, MID, rename_up, rename_down), step(MID, NEW, add_nick, drop_nick))))
    wrapped = sv.with_transformers(wrap)
    assert wrapped.run_upgrade is None and wrapped.run_downgrade is None
    again = compiled(wrapped)
    call_up(again, {"full_name": "Ada"})
    assert again.run_downgrade is not None
    again.run_downgrade({"id": 1, "name": "Ada", "nick": "a"}, "r")
    assert calls == [
        f"upgrade {OLD} -> {MID}",
        f"upgrade {MID} -> {NEW}",
        f"downgrade {MID} -> {NEW}",
        f"downgrade {OLD} -> {MID}",
    ]


def test_a_quick_check_saying_yes_spares_the_decoder_and_saying_no_leaves_the_answer_to_it() -> None:
    decoded: list[Any] = []
    full = requires("full_name")

    def decoder(value: Any) -> Any:
        decoded.append(value)
        return full(value)

    def quick(value: Any) -> bool:  # stricter than the decoder: a `nick` must be absent
        return type(value) is dict and "full_name" in value and "nick" not in value

    sv = served((step(OLD, NEW, rename_up, rename_down),), parts=(("body", "GATI511", decoder),))

    def response_decoder(value: Any) -> Any:
        decoded.append(value)
        return requires("id", "full_name")(value)

    sv = replace(sv, body_only=decoder, quick_body=quick, quick_response=quick, check_response=response_decoder)
    sv = compiled(sv)
    assert call_up(sv, {"full_name": "Ada"})[0] == {"name": "Ada"} and decoded == []
    assert call_up(sv, {"full_name": "Ada", "nick": "a"})[0] == {"name": "Ada", "nick": "a"}  # the decoder's yes
    assert decoded == [{"full_name": "Ada", "nick": "a"}]
    with pytest.raises(GatiError) as caught:
        call_up(sv, {"name": "Ada"})
    assert caught.value.code == "GATI511" and first_path(caught.value) == "$.body.full_name"
    assert sv.run_downgrade is not None
    decoded.clear()
    assert sv.run_downgrade({"id": 1, "name": "Ada"}, "r") == {"id": 1, "full_name": "Ada"} and decoded == []
    assert sv.run_downgrade({"id": 1, "name": "Ada", "nick": "a"}, "r") == {"id": 1, "nick": "a", "full_name": "Ada"}
    with pytest.raises(TransformerFault) as fault:
        sv.run_downgrade({"name": "Ada", "nick": "a"}, "r")
    assert fault.value.code == "GATI524"
    assert decoded == [{"id": 1, "nick": "a", "full_name": "Ada"}, {"nick": "a", "full_name": "Ada"}]
