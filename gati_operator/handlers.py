"""kopf handlers: reconcile a `GatiVersion` into its objects, step its rollout, decommission it
once drained. Run with `kopf run -m gati_operator.handlers --all-namespaces`.

Each handler reads through `memo.api` (a `KubeApi`) and `memo.clock`, decides with `logic`, and
writes back through the API and kopf's `patch`; the startup handler fills `memo` in the cluster,
tests fill it with a client replaying recorded responses.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

import kopf

from gati_operator import GROUP, VERSION
from gati_operator import logic as L
from gati_operator.kube import HttpKubeApi, KubeApi

API_VERSION = f"{GROUP}/{VERSION}"
Obj = dict[str, Any]


@kopf.on.startup()
def configure(memo: Any, settings: kopf.OperatorSettings, **_: Any) -> None:
    settings.persistence.finalizer = f"{GROUP}/operator"
    if getattr(memo, "api", None) is None:
        memo.api = HttpKubeApi.in_cluster()
    if getattr(memo, "clock", None) is None:
        memo.clock = lambda: datetime.now(UTC)


def _deps(memo: Any) -> tuple[KubeApi, datetime]:
    clock = cast(Callable[[], datetime], memo.clock)
    return cast(KubeApi, memo.api), clock()


def _app(api: KubeApi, namespace: str, spec: Any) -> Obj:
    app = api.get(API_VERSION, "GatiApp", namespace, spec["app"])
    if app is None:
        raise kopf.TemporaryError(f"GatiApp `{spec['app']}` does not exist (yet)", delay=30)
    return app


@kopf.on.resume(GROUP, VERSION, "gativersions")
@kopf.on.create(GROUP, VERSION, "gativersions")
@kopf.on.update(GROUP, VERSION, "gativersions", field="spec")
def reconcile(body: Any, spec: Any, status: Any, namespace: str | None, patch: Any, memo: Any, **_: Any) -> None:
    """Apply the version's Deployment and Service (owned by the GatiVersion)."""
    api, now = _deps(memo)
    namespace = namespace or "default"
    if status.get("phase") == "Decommissioned":
        return
    app = _app(api, namespace, spec)
    for obj in L.version_objects(app, dict(body)):
        kopf.adopt(obj, owner=body)
        api.apply(obj)
    done = L.condition("Reconciled", True, "ObjectsApplied", "Deployment and Service applied", now)
    patch.status["conditions"] = L.merge_conditions(status.get("conditions") or [], [done])
    if not status.get("phase"):
        patch.status["phase"] = "Pending"
        patch.status["weight"] = 0


def _usage(api: KubeApi, namespace: str, app: Obj) -> dict[str, L.Usage]:
    path = app["spec"].get("usagePath", "/_gati/usage")
    return L.parse_usage(api.usage(namespace, app["metadata"]["name"], path))


@kopf.timer(GROUP, VERSION, "gativersions", interval=15, idle=5)
def rollout(spec: Any, status: Any, namespace: str | None, patch: Any, memo: Any, **_: Any) -> None:
    """Move traffic one step when the version is ready; roll back when its error rate rises."""
    api, now = _deps(memo)
    namespace = namespace or "default"
    if status.get("phase") in ("Serving", "RolledBack", "Draining", "Decommissioned"):
        return
    app = _app(api, namespace, spec)
    app_name = app["metadata"]["name"]
    tsv = spec["tsv"]
    current = (app.get("status") or {}).get("currentVersion")
    deployment = api.get("apps/v1", "Deployment", namespace, L.object_name(app_name, tsv))
    ready, ready_count = L.deployment_ready(deployment)
    usage = _usage(api, namespace, app)
    policy = L.Policy.of(app["spec"], spec)
    step = L.rollout_step(status, ready, usage.get(tsv), usage.get(current or ""), policy, now)
    route_name = app["spec"].get("route")
    if route_name and (step.weight != status.get("weight") or step.rolled_back):
        route = api.get("gateway.networking.k8s.io/v1", "HTTPRoute", namespace, route_name)
        if route is not None:
            backends = L.route_backends(app_name, current, tsv, 0 if step.rolled_back else step.weight)
            if step.rolled_back and current is not None:
                backends = L.route_backends(app_name, None, current, 100)
            api.apply(L.with_default_backends(route, backends))
    if step.phase == "Serving" and current != tsv:
        api.patch_status(API_VERSION, "GatiApp", namespace, app_name, {"currentVersion": tsv})
    patch.status.update(
        {
            "phase": step.phase,
            "weight": step.weight,
            "step": step.step,
            "stepStartedAt": L.iso(step.step_started_at),
            "readyReplicas": ready_count,
            "errorRate": usage[tsv].error_rate if tsv in usage else 0.0,
            "conditions": L.merge_conditions(status.get("conditions") or [], list(step.conditions)),
        }
    )


@kopf.timer(GROUP, VERSION, "gativersions", interval=60, idle=30)
def decommission(spec: Any, status: Any, namespace: str | None, patch: Any, memo: Any, **_: Any) -> None:
    """Delete the objects of a version whose traffic has drained and that nothing holds."""
    api, now = _deps(memo)
    namespace = namespace or "default"
    if status.get("phase") in (None, "Pending", "Progressing", "Decommissioned"):
        return
    app = _app(api, namespace, spec)
    usage = _usage(api, namespace, app).get(spec["tsv"])
    if usage is not None and usage.last_seen is not None:
        patch.status["lastRequestAt"] = L.iso(usage.last_seen)
    ok, why = L.drain_decision(
        {"spec": dict(spec), "status": dict(status)},
        usage,
        now,
        protected_labels=app["spec"].get("protectedLabels", ["stable"]),
        drain_seconds=int(app["spec"].get("drainSeconds", 3600)),
        current_tsv=(app.get("status") or {}).get("currentVersion"),
    )
    drained = L.condition("Drained", ok, "Drained" if ok else "Held", why, now)
    patch.status["conditions"] = L.merge_conditions(status.get("conditions") or [], [drained])
    if not ok:
        return
    name = L.object_name(app["metadata"]["name"], spec["tsv"])
    api.delete("apps/v1", "Deployment", namespace, name)
    api.delete("v1", "Service", namespace, name)
    patch.status["phase"] = "Decommissioned"
    patch.status["weight"] = 0
