"""Seed properties in the deploy area, over generated versions and traffic:

- Property 16 (multi-version routing): every live version, by its TSV, tags and labels, reaches
  the Deployment that serves it; retired versions reach nothing.
- Property 7 (unhealthy version routing): a version whose error rate rises is rolled back to
  weight 0; a healthy one only moves forward.
- Decommissioning never drops a version held by a protected label, a future sunset or traffic.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gati_compiler.deploy import LiveVersion, build_objects, version_groups
from gati_compiler.deploy.checks import check_objects
from gati_compiler.ir.models import Program
from gati_operator.logic import Policy, Usage, drain_decision, rollout_step
from tests.unit.deploy.bundles import BOOKSTORE, built

PROGRAM, CONFIG, ARTIFACTS = built(BOOKSTORE)
HANDLERS = tuple(sorted(h.handlerId for h in PROGRAM.handlers))
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@st.composite
def live_versions(draw: st.DrawFn) -> tuple[LiveVersion, ...]:
    days = draw(st.lists(st.integers(0, 700), min_size=1, max_size=6, unique=True))
    out = []
    for i, day in enumerate(days):
        moment = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=day, seconds=i)
        handlers = tuple(sorted(draw(st.sets(st.sampled_from(HANDLERS), min_size=1))))
        out.append(
            LiveVersion(
                tsv=moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
                tags=(f"v1.{i}.0",) if draw(st.booleans()) else (),
                labels=("stable",) if i == 0 else (),
                status=draw(st.sampled_from(["active", "active", "deprecated", "retired"])),
                handlers=handlers,
            )
        )
    return tuple(out)


def _reaches(route: dict[str, Any], value: str) -> str:
    """The backend a request with `X-Gati-Version: value` reaches (first matching rule)."""
    rules = route["spec"]["rules"]
    for rule in rules:
        for match in rule["matches"]:
            headers = match.get("headers", [])
            if headers and headers[0]["value"] == value:
                return str(rule["backendRefs"][0]["name"])
    return str(rules[-1]["backendRefs"][0]["name"])


@given(live_versions())
def test_property_16_multi_version_routing(versions: tuple[LiveVersion, ...]) -> None:
    program: Program = PROGRAM
    groups = version_groups(program, versions)
    objs = build_objects(program, CONFIG, groups, {})
    t_app = CONFIG.name
    route = objs["httproute.yaml"]
    deployments = {o["metadata"]["name"] for o in objs.values() if o["kind"] == "Deployment"}
    assert check_objects(objs.values()) == []
    for group in groups:
        assert f"{t_app}-{group.slug}" in deployments
        for value in group.selectors:
            reached = _reaches(route, value)
            serving = [g for g in groups if value in g.selectors]
            # a selector shared by two groups (a label moved) reaches the first rule's group
            assert reached in {f"{t_app}-{g.slug}" for g in serving}
    live = {v.tsv for v in versions if v.status != "retired"}
    for v in versions:
        if v.status == "retired" and v.tsv not in live:
            assert all(v.tsv not in g.selectors for g in groups)
    services = {o["metadata"]["name"] for o in objs.values() if o["kind"] == "Service"}
    assert {b["name"] for r in route["spec"]["rules"] for b in r["backendRefs"]} <= services


@given(
    requests=st.integers(0, 5000),
    error_share=st.floats(0, 1),
    baseline_share=st.floats(0, 0.2),
    step=st.integers(-1, 3),
    ready=st.booleans(),
)
def test_property_7_unhealthy_version_routing(
    requests: int, error_share: float, baseline_share: float, step: int, ready: bool
) -> None:
    policy = Policy()
    weight = 0 if step < 0 else policy.steps[step]
    status = {"phase": "Progressing", "weight": weight, "step": step, "stepStartedAt": "2026-12-01T11:00:00Z"}
    usage = Usage(requests, int(requests * error_share))
    baseline = Usage(1000, int(1000 * baseline_share))
    out = rollout_step(status, ready, usage, baseline, policy, NOW)
    limit = max(policy.max_error_rate, 2 * baseline.error_rate)
    if requests >= policy.min_requests and usage.error_rate > limit:
        assert (out.phase, out.weight, out.rolled_back) == ("RolledBack", 0, True)
    else:
        assert out.weight >= weight and not out.rolled_back
        if not ready:
            assert out.weight == weight  # the readiness gate holds traffic


@given(
    labels=st.lists(st.sampled_from(["stable", "beta", "lts"]), unique=True),
    sunset_days=st.none() | st.integers(-30, 30),
    requests=st.integers(0, 3),
    quiet_seconds=st.integers(0, 10_000),
)
def test_property_decommission_never_drops_a_held_version(
    labels: list[str], sunset_days: int | None, requests: int, quiet_seconds: int
) -> None:
    sunset = None if sunset_days is None else (NOW.date() + timedelta(days=sunset_days)).isoformat()
    version = {"spec": {"tsv": "2026-01-01T00:00:00Z", "labels": labels, "sunset": sunset}, "status": {}}
    usage = Usage(requests, 0, NOW - timedelta(seconds=quiet_seconds))
    ok, _ = drain_decision(
        version, usage, NOW, protected_labels=("stable", "lts"), drain_seconds=3600, current_tsv="2026-06-01T00:00:00Z"
    )
    held = (
        bool({"stable", "lts"} & set(labels))
        or (sunset is not None and date.fromisoformat(sunset) > NOW.date())
        or requests > 0
        or quiet_seconds < 3600
    )
    assert ok is not held
