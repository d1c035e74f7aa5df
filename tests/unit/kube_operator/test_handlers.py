"""The kopf handlers, called as functions with recorded bodies against a replayed API server:
reconcile, rollout forward, readiness gate, rollback, decommission and what holds a version."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import kopf
import pytest

from gati_operator import handlers
from tests.unit.kube_operator.replay import APP, NEW_DEPLOYMENT, ROUTE, USAGE, Replay, fixture

NOW = datetime(2026, 12, 1, 9, 10, tzinfo=UTC)


def _call(fn: Any, version: str, replay: Replay, now: datetime = NOW, status: dict[str, Any] | None = None) -> Any:
    body = fixture(version)
    if status is not None:
        body["status"] = status
    patch = kopf.Patch()
    fn(
        body=body,
        spec=body["spec"],
        status=body.get("status") or {},
        namespace="shop",
        patch=patch,
        memo=replay.memo(now),
        logger=None,
    )
    return patch


def test_reconcile_applies_an_owned_deployment_and_service_and_marks_the_version_pending() -> None:
    replay = Replay({APP: "gatiapp.json"})
    patch = _call(handlers.reconcile, "gativersion-new.json", replay)
    applied = replay.written("PATCH", "/bookstore-20261201t090000z")
    assert [o["kind"] for o in applied] == ["Deployment", "Service"]
    deployment = applied[0]
    assert deployment["metadata"]["ownerReferences"][0]["kind"] == "GatiVersion"
    assert deployment["metadata"]["namespace"] == "shop"
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "ghcr.io/example/bookstore:0.2.0"
    assert patch.status["phase"] == "Pending"
    assert patch.status["conditions"][0]["type"] == "Reconciled"


def test_reconcile_waits_for_a_missing_app() -> None:
    with pytest.raises(kopf.TemporaryError, match="GatiApp `bookstore` does not exist"):
        _call(handlers.reconcile, "gativersion-new.json", Replay({}))


def test_rollout_holds_traffic_until_the_readiness_gate_opens() -> None:
    replay = Replay({APP: "gatiapp.json", NEW_DEPLOYMENT: "deployment-new-starting.json", USAGE: "usage-healthy.json"})
    patch = _call(handlers.rollout, "gativersion-new.json", replay, status={"phase": "Pending", "weight": 0})
    assert patch.status["weight"] == 0 and patch.status["phase"] == "Pending"
    assert not replay.written("PATCH", ROUTE)
    ready = next(c for c in patch.status["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False"


def test_rollout_steps_forward_by_weight_once_ready_and_after_the_hold() -> None:
    gets = {
        APP: "gatiapp.json",
        NEW_DEPLOYMENT: "deployment-new-ready.json",
        USAGE: "usage-healthy.json",
        ROUTE: "httproute.json",
    }
    replay = Replay(gets)
    patch = _call(handlers.rollout, "gativersion-new.json", replay, status={"phase": "Pending", "weight": 0})
    assert (patch.status["phase"], patch.status["weight"], patch.status["step"]) == ("Progressing", 10, 0)
    route = replay.written("PATCH", ROUTE)[0]
    assert route["spec"]["rules"][-1]["backendRefs"] == [
        {"name": "bookstore-20261121t103000z", "port": 80, "weight": 90},
        {"name": "bookstore-20261201t090000z", "port": 80, "weight": 10},
    ]
    assert route["spec"]["rules"][0] == fixture("httproute.json")["spec"]["rules"][0]  # header rules kept
    # 30 s later the step has not held long enough; 61 s later it moves on
    held = {**patch.status, "stepStartedAt": "2026-12-01T09:09:30Z"}
    assert _call(handlers.rollout, "gativersion-new.json", Replay(gets), status=held).status["weight"] == 10
    aged = {**patch.status, "stepStartedAt": "2026-12-01T09:08:59Z"}
    assert _call(handlers.rollout, "gativersion-new.json", Replay(gets), status=aged).status["weight"] == 50


def test_rollout_finishes_at_full_weight_and_makes_the_version_current() -> None:
    replay = Replay({APP: "gatiapp.json", NEW_DEPLOYMENT: "deployment-new-ready.json", USAGE: "usage-healthy.json"})
    status = {"phase": "Progressing", "weight": 50, "step": 1, "stepStartedAt": "2026-12-01T09:00:00Z"}
    patch = _call(handlers.rollout, "gativersion-new.json", replay, status=status)
    assert (patch.status["phase"], patch.status["weight"]) == ("Serving", 100)
    assert replay.written("PATCH", APP + "/status") == [{"status": {"currentVersion": "2026-12-01T09:00:00Z"}}]


def test_rollout_rolls_back_when_the_error_rate_rises() -> None:
    replay = Replay(
        {
            APP: "gatiapp.json",
            NEW_DEPLOYMENT: "deployment-new-ready.json",
            USAGE: "usage-errors.json",
            ROUTE: "httproute.json",
        }
    )
    status = {"phase": "Progressing", "weight": 50, "step": 1, "stepStartedAt": "2026-12-01T09:09:00Z"}
    patch = _call(handlers.rollout, "gativersion-new.json", replay, status=status)
    assert (patch.status["phase"], patch.status["weight"]) == ("RolledBack", 0)
    healthy = next(c for c in patch.status["conditions"] if c["type"] == "Healthy")
    assert (healthy["status"], healthy["reason"]) == ("False", "ErrorRateRising")
    route = replay.written("PATCH", ROUTE)[0]
    assert route["spec"]["rules"][-1]["backendRefs"] == [
        {"name": "bookstore-20261121t103000z", "port": 80, "weight": 100}
    ]
    assert not replay.written("PATCH", APP + "/status")  # the current version stays current


def test_decommission_deletes_a_drained_unprotected_version() -> None:
    replay = Replay({APP: "gatiapp.json", USAGE: "usage-healthy.json"})
    patch = _call(handlers.decommission, "gativersion-older.json", replay)
    deleted = [p for m, p, _ in replay.writes if m == "DELETE"]
    assert deleted == [
        "/apis/apps/v1/namespaces/shop/deployments/bookstore-20261001t080000z",
        "/api/v1/namespaces/shop/services/bookstore-20261001t080000z",
    ]
    assert patch.status["phase"] == "Decommissioned"


@pytest.mark.parametrize(
    ("version", "changes", "usage", "reason"),
    [
        ("gativersion-older.json", {"labels": ["stable"]}, "usage-healthy.json", "protected by label stable"),
        ("gativersion-older.json", {"sunset": "2027-01-31"}, "usage-healthy.json", "sunset 2027-01-31 not reached"),
        ("gativersion-older.json", {}, "usage-older-recent.json", "last request 2026-12-01T08:50:00Z"),
        ("gativersion-current.json", {}, "usage-healthy.json", "current version"),
        ("gativersion-new.json", {}, "usage-healthy.json", "110 requests in the last window"),
    ],
)
def test_decommission_keeps_a_version_something_holds(
    version: str, changes: dict[str, Any], usage: str, reason: str
) -> None:
    replay = Replay({APP: "gatiapp.json", "/api/v1/namespaces/shop/services/bookstore:http/proxy/_gati/usage": usage})
    body = fixture(version)
    body["spec"].update(changes)
    body["status"] = {"phase": "Serving", "weight": 0}
    patch = kopf.Patch()
    decommission: Any = handlers.decommission
    decommission(
        body=body, spec=body["spec"], status=body["status"], namespace="shop", patch=patch, memo=replay.memo(NOW)
    )
    assert not [w for w in replay.writes if w[0] == "DELETE"]
    drained = patch.status["conditions"][0]
    assert (drained["type"], drained["status"]) == ("Drained", "False")
    assert drained["message"].startswith(reason)


def test_kopf_registers_every_handler_for_gativersions() -> None:
    registry = kopf.get_default_registry()
    resource = kopf.Resource("gati.dev", "v1alpha1", "gativersions")
    changing = {
        getattr(h.fn, "__name__", "")
        for h in registry._changing.get_all_handlers()
        if h.selector and h.selector.check(resource)
    }
    spawning = {
        getattr(h.fn, "__name__", "")
        for h in registry._spawning.get_all_handlers()
        if h.selector and h.selector.check(resource)
    }
    assert changing == {"reconcile"} and spawning == {"rollout", "decommission"}
