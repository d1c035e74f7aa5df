"""The operator's decisions as pure functions over Kubernetes objects (plain dicts) and the usage
the runtime reports. Nothing here calls the API: `handlers` reads, decides with these, writes.

- `version_objects`: a `GatiVersion` (with its `GatiApp`) → its Deployment and Service.
- `rollout_step`: the next traffic weight of a new version: forward one step when its pods are
  ready and the step has held long enough, back to 0 when its error rate rises.
- `route_backends`: the HTTPRoute default rule's weighted backends for stable and canary.
- `drain_decision`: whether a version can be decommissioned (traffic drained, no protected
  label, no unexpired sunset, not the current version).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from gati_operator.crds import DEFAULT_STEPS

Obj = dict[str, Any]

L_NAME: Final = "app.kubernetes.io/name"
L_MANAGED: Final = "app.kubernetes.io/managed-by"
L_VERSION: Final = "gati.dev/version"
HEALTH_PATH: Final = "/_gati/health"
READY_PATH: Final = "/_gati/ready"
_NOT_LABEL: Final = re.compile(r"[^A-Za-z0-9]+")


def version_slug(tsv: str) -> str:
    """`2026-11-21T10:30:00Z` → `20261121t103000z` (the same slug the bundle uses)."""
    return _NOT_LABEL.sub("", tsv).lower()[:40] or "v"


def object_name(app: str, tsv: str) -> str:
    return f"{app}-{version_slug(tsv)}"[:63].rstrip("-")


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def condition(kind: str, ok: bool, reason: str, message: str, now: datetime) -> Obj:
    return {
        "type": kind,
        "status": "True" if ok else "False",
        "reason": reason,
        "message": message,
        "lastTransitionTime": iso(now),
    }


def merge_conditions(old: Sequence[Mapping[str, Any]], new: Sequence[Obj]) -> list[Obj]:
    """Replace conditions by type; a condition whose status did not change keeps its time."""
    out = {c["type"]: dict(c) for c in old}
    for c in new:
        prev = out.get(c["type"])
        if prev is not None and prev.get("status") == c["status"]:
            c = {**c, "lastTransitionTime": prev.get("lastTransitionTime", c["lastTransitionTime"])}
        out[c["type"]] = c
    return [out[k] for k in sorted(out)]


def version_objects(app: Mapping[str, Any], version: Mapping[str, Any]) -> list[Obj]:
    """The Deployment and Service that run one version (owner references are kopf's to add)."""
    app_name = app["metadata"]["name"]
    a, v = app["spec"], version["spec"]
    name = object_name(app_name, v["tsv"])
    slug = version_slug(v["tsv"])
    labels = {L_NAME: app_name, L_MANAGED: "gati-operator", L_VERSION: slug}
    selector = {L_NAME: app_name, L_VERSION: slug}
    port = int(a.get("port", 8000))
    replicas = int(v.get("replicas", a.get("replicas", 2)))
    meta: Obj = {"name": name, "labels": labels, "annotations": {"gati.dev/tsv": v["tsv"]}}
    namespace = version["metadata"].get("namespace")
    if namespace:
        meta["namespace"] = namespace
    probe = {"httpGet": {"path": HEALTH_PATH, "port": "http"}, "periodSeconds": 10}
    deployment: Obj = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "automountServiceAccountToken": False,
                    "containers": [
                        {
                            "name": "app",
                            "image": v.get("image") or a["image"],
                            "args": ["/app/.gati", "--host", "0.0.0.0", "--port", str(port)],
                            "ports": [{"name": "http", "containerPort": port}],
                            "livenessProbe": probe,
                            "readinessProbe": {"httpGet": {"path": READY_PATH, "port": "http"}, "periodSeconds": 5},
                        }
                    ],
                },
            },
        },
    }
    service: Obj = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {k: val for k, val in meta.items() if k != "annotations"},
        "spec": {"selector": selector, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
    }
    return [deployment, service]


@dataclass(frozen=True)
class Usage:
    """What the runtime reports for one version in its last window."""

    requests: int = 0
    errors: int = 0
    last_seen: datetime | None = None

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0


def parse_usage(report: Mapping[str, Any]) -> dict[str, Usage]:
    """`{"versions": {tsv: {"requests": n, "errors": m, "lastSeen": iso | null}}}` → per TSV."""
    out: dict[str, Usage] = {}
    for tsv, row in (report.get("versions") or {}).items():
        out[tsv] = Usage(int(row.get("requests", 0)), int(row.get("errors", 0)), parse_time(row.get("lastSeen")))
    return out


@dataclass(frozen=True)
class Policy:
    steps: tuple[int, ...] = DEFAULT_STEPS
    step_seconds: int = 60
    max_error_rate: float = 0.05
    min_requests: int = 20

    @classmethod
    def of(cls, *specs: Mapping[str, Any]) -> Policy:
        """The version's `rollout` over the app's over the defaults."""
        merged: dict[str, Any] = {}
        for spec in specs:
            merged.update(spec.get("rollout") or {})
        steps = tuple(int(s) for s in merged.get("steps", DEFAULT_STEPS))
        if not steps or steps[-1] != 100:
            steps = (*steps, 100)
        return cls(
            steps=steps,
            step_seconds=int(merged.get("stepSeconds", 60)),
            max_error_rate=float(merged.get("maxErrorRate", 0.05)),
            min_requests=int(merged.get("minRequests", 20)),
        )


@dataclass(frozen=True)
class Step:
    phase: str
    weight: int
    step: int
    step_started_at: datetime
    conditions: tuple[Obj, ...]
    rolled_back: bool = False


def deployment_ready(deployment: Mapping[str, Any] | None) -> tuple[bool, int]:
    """The readiness gate: every wanted replica of the current generation is ready."""
    if deployment is None:
        return False, 0
    wanted = int(deployment.get("spec", {}).get("replicas", 1))
    st = deployment.get("status") or {}
    ready = int(st.get("readyReplicas", 0))
    observed = st.get("observedGeneration", 0) >= deployment.get("metadata", {}).get("generation", 0)
    return observed and ready >= wanted and int(st.get("updatedReplicas", ready)) >= wanted, ready


def rollout_step(
    status: Mapping[str, Any], ready: bool, usage: Usage | None, baseline: Usage | None, policy: Policy, now: datetime
) -> Step:
    """One tick of a rollout. A rolled back or finished version stays where it is."""
    phase = status.get("phase") or "Pending"
    step = int(status.get("step", -1) if status.get("step") is not None else -1)
    started = parse_time(status.get("stepStartedAt")) or now
    weight = int(status.get("weight", 0))
    if phase in ("RolledBack", "Serving", "Draining", "Decommissioned"):
        return Step(phase, weight, step, started, ())
    ready_c = condition("Ready", ready, "PodsReady" if ready else "PodsNotReady", "", now)
    if usage is not None and usage.requests >= policy.min_requests:
        limit = policy.max_error_rate
        if baseline is not None and baseline.requests >= policy.min_requests:
            limit = max(limit, 2 * baseline.error_rate)  # only a rise over the stable version counts
        if usage.error_rate > limit:
            message = f"error rate {usage.error_rate:.1%} over {usage.requests} requests is above {limit:.1%}"
            failed = condition("Healthy", False, "ErrorRateRising", message, now)
            return Step("RolledBack", 0, step, now, (ready_c, failed), rolled_back=True)
    healthy = condition("Healthy", True, "ErrorRateOk", "", now)
    if not ready:
        return Step("Progressing" if step >= 0 else "Pending", weight, step, started, (ready_c, healthy))
    held = (now - started) >= timedelta(seconds=policy.step_seconds)
    if step < 0 or held:
        step += 1
        weight = policy.steps[min(step, len(policy.steps) - 1)]
        started = now
    phase = "Serving" if weight >= 100 else "Progressing"
    progress = condition("Progressing", phase == "Progressing", f"Step{step + 1}of{len(policy.steps)}", "", now)
    return Step(phase, weight, step, started, (ready_c, healthy, progress))


def route_backends(app: str, stable_tsv: str | None, canary_tsv: str, weight: int, port: int = 80) -> list[Obj]:
    """The weighted backends of the route's default rule (weights in percent of 100)."""
    canary = {"name": object_name(app, canary_tsv), "port": port, "weight": weight}
    if stable_tsv is None or stable_tsv == canary_tsv:
        return [{**canary, "weight": 100}]
    return [{"name": object_name(app, stable_tsv), "port": port, "weight": 100 - weight}, canary]


def with_default_backends(route: Mapping[str, Any], backends: list[Obj]) -> Obj:
    """The route with its last rule (the default, as the bundle emits it) sent to `backends`."""
    rules = [dict(r) for r in route["spec"]["rules"]]
    rules[-1] = {**rules[-1], "backendRefs": backends}
    return {**route, "spec": {**route["spec"], "rules": rules}}


def drain_decision(
    version: Mapping[str, Any],
    usage: Usage | None,
    now: datetime,
    *,
    protected_labels: Sequence[str],
    drain_seconds: int,
    current_tsv: str | None,
) -> tuple[bool, str]:
    """(decommission?, why): only a version nobody has called for `drain_seconds`, with no
    protected label, no sunset still ahead, and not the app's current version, goes."""
    spec = version["spec"]
    tsv = spec["tsv"]
    if tsv == current_tsv:
        return False, "current version"
    held = sorted(set(spec.get("labels") or ()) & set(protected_labels))
    if held:
        return False, f"protected by label {', '.join(held)}"
    sunset = spec.get("sunset")
    if sunset and date.fromisoformat(sunset) > now.date():
        return False, f"sunset {sunset} not reached"
    if usage is not None and usage.requests > 0:
        return False, f"{usage.requests} requests in the last window"
    last = usage.last_seen if usage is not None else None
    if last is None:
        last = parse_time(version.get("status", {}).get("lastRequestAt"))
    if last is not None and now - last < timedelta(seconds=drain_seconds):
        return False, f"last request {iso(last)}, within {drain_seconds}s"
    return True, "drained"
