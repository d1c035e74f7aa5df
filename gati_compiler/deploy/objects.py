"""Kubernetes objects of a deploy bundle, as plain dicts in the order `kubectl` users expect.

Input: the `Program`, the config, the version groups and the manifest artifacts. Output: a list
of `(file name, object)`; nothing here touches the disk or serialises.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from gati_compiler.config import GatiConfig
from gati_compiler.deploy.model import VersionGroup
from gati_compiler.ir.models import Program

Obj = dict[str, Any]

VERSION_HEADER: Final = "X-Gati-Version"
VERSION_QUERY: Final = "version"
HEALTH_PATH: Final = "/_gati/health"
READY_PATH: Final = "/_gati/ready"
RUN_AS: Final = 10001
SERVICE_PORT: Final = 80
GRACE_MARGIN: Final = 10  # seconds past the longest handler timeout for draining in-flight requests
L_NAME: Final = "app.kubernetes.io/name"
L_MANAGED: Final = "app.kubernetes.io/managed-by"
L_VERSION: Final = "gati.dev/version"
L_HANDLERS: Final = "gati.dev/handler-set"
_NOT_DNS: Final = re.compile(r"[^a-z0-9-]+")
_LAYOUT: Final = re.compile(rb"\n *")  # the indentation of canonical JSON


def dns_name(value: str, limit: int = 63) -> str:
    """A DNS-1123 label derived from `value`: lower case, `-` for anything else, trimmed."""
    name = _NOT_DNS.sub("-", value.lower()).strip("-")[:limit].strip("-")
    return name or "app"


@dataclass(frozen=True)
class Target:
    """What the base bundle deploys (an environment's overlay patches these values)."""

    app: str  # DNS name of the app
    image: str
    replicas: int
    max_replicas: int
    cpu_request: str
    cpu_limit: str
    memory_request: str
    memory_limit: str
    host: str | None
    namespace: str | None


def base_target(cfg: GatiConfig) -> Target:
    d = cfg.deploy
    return Target(
        app=dns_name(cfg.name, 40),
        image=d.image or f"{cfg.name.lower()}:latest",
        replicas=d.replicas,
        max_replicas=hpa_max(cfg, d.replicas, d.max_replicas),
        cpu_request=d.cpu_request,
        cpu_limit=d.cpu_limit,
        memory_request=d.memory_request,
        memory_limit=d.memory_limit,
        host=d.host,
        namespace=d.namespace,
    )


def hpa_max(cfg: GatiConfig, replicas: int, configured: int | None) -> int:
    """The HPA ceiling: never above the replicas when state is per replica (memory backend)."""
    floor = max(replicas, 1)
    if cfg.state.backend == "memory":
        return floor
    return max(configured if configured is not None else 3 * floor, floor)


def state_secret_name(cfg: GatiConfig, app: str) -> str:
    return dns_name(cfg.state.url_secret, 253) if cfg.state.url_secret else f"{app}-state"


def uses_state_secret(cfg: GatiConfig) -> bool:
    """The state URL comes from a Secret when it is named one, or when any environment scales out."""
    if cfg.state.backend != "redis":
        return False
    replicas = [cfg.deploy.replicas, *(o.replicas for o in cfg.deploy.environments.values() if o.replicas)]
    return cfg.state.url_secret is not None or max(replicas) > 1 or cfg.state.url is None


def longest_timeout(program: Program, cfg: GatiConfig) -> float:
    default = cfg.server.request_timeout
    return max((h.policies.timeout or default for h in program.handlers), default=default)


def _labels(t: Target, group: VersionGroup | None = None) -> dict[str, str]:
    labels = {L_NAME: t.app, L_MANAGED: "gatic"}
    if group is not None:
        labels[L_VERSION] = group.slug
        labels[L_HANDLERS] = group.handler_set
    return labels


def _selector(t: Target, group: VersionGroup | None = None) -> dict[str, str]:
    sel = {L_NAME: t.app}
    if group is not None:
        sel[L_VERSION] = group.slug
    return sel


def _meta(name: str, t: Target, group: VersionGroup | None = None, annotations: Mapping[str, str] = {}) -> Obj:
    meta: Obj = {"name": name, "labels": _labels(t, group)}
    if annotations:
        meta["annotations"] = dict(annotations)
    return meta


def group_name(t: Target, group: VersionGroup) -> str:
    return f"{t.app}-{group.slug}"[:63].rstrip("-")


def _version_annotations(group: VersionGroup) -> dict[str, str]:
    return {
        "gati.dev/versions": ",".join(v.tsv for v in group.versions),
        "gati.dev/selectors": ",".join(group.selectors),
        "gati.dev/handlers": ",".join(group.handlers),
    }


def _env(cfg: GatiConfig, t: Target) -> list[Obj]:
    env: list[Obj] = []
    if uses_state_secret(cfg):
        ref = {"name": state_secret_name(cfg, t.app), "key": "url"}
        env.append({"name": "GATI_STATE_URL", "valueFrom": {"secretKeyRef": ref}})
    elif cfg.state.url is not None:
        env.append({"name": "GATI_STATE_URL", "value": cfg.state.url})
    secret_envs = [cfg.auth.api_keys.keys_env, cfg.auth.jwt.secret_env]
    for name in sorted({n for n in secret_envs if n is not None}):
        env.append({"name": name, "valueFrom": {"secretKeyRef": {"name": f"{t.app}-secrets", "key": name}}})
    return env


def _secrets(program: Program, cfg: GatiConfig, t: Target) -> tuple[list[Obj], list[Obj], list[Obj]]:
    """Env entries, volume mounts and volumes that hand the secrets the handlers declare
    (`secrets=[...]`) to the providers of `[tool.gati.secrets]`, from the Secret `<app>-secrets`
    (optional keys: a secret the cluster lacks is the runtime's GATI546, not a pod that cannot
    start)."""
    names = sorted({n for h in program.handlers for n in h.dependencies.secrets})
    if not names:
        return [], [], []
    source = f"{t.app}-secrets"
    env: list[Obj] = []
    if "env" in cfg.secrets.providers:
        for n in names:
            var = cfg.secrets.env_prefix + n.upper().replace("-", "_").replace(".", "_")
            env.append({"name": var, "valueFrom": {"secretKeyRef": {"name": source, "key": n, "optional": True}}})
    if "file" not in cfg.secrets.providers:
        return env, [], []
    mounts: list[Obj] = [{"name": "secrets", "mountPath": cfg.secrets.directory, "readOnly": True}]
    items = [{"key": n, "path": n} for n in names]
    volumes: list[Obj] = [{"name": "secrets", "secret": {"secretName": source, "optional": True, "items": items}}]
    return env, mounts, volumes


def deployment(program: Program, cfg: GatiConfig, t: Target, group: VersionGroup, build_digest: str) -> Obj:
    port = cfg.deploy.port
    secret_env, secret_mounts, secret_volumes = _secrets(program, cfg, t)
    probe = {"httpGet": {"path": HEALTH_PATH, "port": "http"}, "periodSeconds": 10, "timeoutSeconds": 2}
    container: Obj = {
        "name": "app",
        "image": t.image,
        "imagePullPolicy": "IfNotPresent",
        "args": [
            f"/app/{cfg.out.strip('/')}",
            "--host",
            "0.0.0.0",
            "--port",
            str(port),
            "--workers",
            str(cfg.deploy.workers),
        ],
        "ports": [{"name": "http", "containerPort": port, "protocol": "TCP"}],
        **({"env": env} if (env := [*_env(cfg, t), *secret_env]) else {}),
        "resources": {
            "requests": {"cpu": t.cpu_request, "memory": t.memory_request},
            "limits": {"cpu": t.cpu_limit, "memory": t.memory_limit},
        },
        "startupProbe": {**probe, "failureThreshold": 30, "periodSeconds": 2},
        "livenessProbe": {**probe, "failureThreshold": 3},
        "readinessProbe": {
            "httpGet": {"path": READY_PATH, "port": "http"},
            "periodSeconds": 5,
            "timeoutSeconds": 2,
            "failureThreshold": 2,
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": RUN_AS,
            "runAsGroup": RUN_AS,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}, *secret_mounts],
    }
    grace = math.ceil(longest_timeout(program, cfg)) + GRACE_MARGIN
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(group_name(t, group), t, group, _version_annotations(group)),
        "spec": {
            "replicas": t.replicas,
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": _selector(t, group)},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": _labels(t, group), "annotations": {"gati.dev/build-digest": build_digest}},
                "spec": {
                    "serviceAccountName": t.app,
                    "automountServiceAccountToken": False,
                    "terminationGracePeriodSeconds": grace,
                    "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [container],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}, *secret_volumes],
                },
            },
        },
    }


def service(t: Target, group: VersionGroup | None) -> Obj:
    name = t.app if group is None else group_name(t, group)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(name, t, group),
        "spec": {
            "type": "ClusterIP",
            "selector": _selector(t, group),
            "ports": [{"name": "http", "port": SERVICE_PORT, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def hpa(cfg: GatiConfig, t: Target, group: VersionGroup) -> Obj:
    name = group_name(t, group)
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _meta(name, t, group),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": max(t.replicas, 1),
            "maxReplicas": t.max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": cfg.deploy.cpu_target},
                    },
                }
            ],
        },
    }


def pdb(t: Target, group: VersionGroup) -> Obj:
    # one replica: allow a voluntary eviction (else node drains hang); more: keep one serving
    budget: Obj = {"minAvailable": 1} if t.replicas > 1 else {"maxUnavailable": 1}
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _meta(group_name(t, group), t, group),
        "spec": {**budget, "selector": {"matchLabels": _selector(t, group)}},
    }


CONFIGMAP_BUDGET: Final = 900_000  # bytes of data per ConfigMap, under the 1 MiB object limit


def config_maps(t: Target, manifests: Mapping[str, bytes]) -> list[Obj]:
    """The manifests and GTypes, as compact JSON; keys are paths with `/` spelled `__` (ConfigMap
    keys are flat). A large app's build spreads over `<app>-build`, `<app>-build-2`, ... in key
    order, each under `CONFIGMAP_BUDGET`."""
    chunks: list[dict[str, str]] = [{}]
    size = 0
    for path, body in sorted(manifests.items()):
        value = _LAYOUT.sub(b"", body).decode()  # raw newlines only occur between tokens
        key = path.replace("/", "__")
        cost = len(key) + len(value.encode())
        if size and size + cost > CONFIGMAP_BUDGET:
            chunks.append({})
            size = 0
        chunks[-1][key] = value
        size += cost
    out = []
    for index, data in enumerate(chunks, start=1):
        name = f"{t.app}-build" if index == 1 else f"{t.app}-build-{index}"
        out.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(name, t), "data": data})
    return out


def service_account(t: Target) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": _meta(t.app, t),
        "automountServiceAccountToken": False,
    }


def _header_pattern(group: VersionGroup) -> str:
    return "^(" + "|".join(re.escape(s) for s in group.selectors) + ")$"


def ingresses(cfg: GatiConfig, t: Target, groups: tuple[VersionGroup, ...]) -> list[Obj]:
    """The main Ingress to the newest group, and an nginx canary-by-header Ingress for the next one.

    ingress-nginx honours one canary Ingress per host and path, so older groups are reached by
    the HTTPRoute (or by the default group, which serves every recorded version anyway)."""

    def one(name: str, group: VersionGroup, annotations: dict[str, str]) -> Obj:
        rule: Obj = {
            "http": {
                "paths": [
                    {
                        "path": "/",
                        "pathType": "Prefix",
                        "backend": {"service": {"name": group_name(t, group), "port": {"name": "http"}}},
                    }
                ]
            }
        }
        if t.host is not None:
            rule = {"host": t.host, **rule}
        return {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": _meta(name, t, None, annotations),
            "spec": {"ingressClassName": cfg.deploy.ingress_class, "rules": [rule]},
        }

    main = one(t.app, groups[0], {"traefik.ingress.kubernetes.io/router.priority": "10"})
    out = [main]
    if len(groups) > 1:
        canary = groups[1]
        annotations = {
            "nginx.ingress.kubernetes.io/canary": "true",
            "nginx.ingress.kubernetes.io/canary-by-header": VERSION_HEADER,
            "nginx.ingress.kubernetes.io/canary-by-header-pattern": _header_pattern(canary),
            "traefik.ingress.kubernetes.io/router.priority": "20",
        }
        out.append(one(group_name(t, canary), canary, annotations))
    return out


def http_route(cfg: GatiConfig, t: Target, groups: tuple[VersionGroup, ...]) -> Obj:
    """Gateway API routing: a rule per older group matching its TSVs, tags and labels in the
    `X-Gati-Version` header or the `version` query parameter; everything else to the newest."""
    rules: list[Obj] = []
    for group in groups[1:]:
        matches: list[Obj] = []
        for value in group.selectors:
            matches.append({"headers": [{"type": "Exact", "name": VERSION_HEADER, "value": value}]})
            matches.append({"queryParams": [{"type": "Exact", "name": VERSION_QUERY, "value": value}]})
        backend = {"name": group_name(t, group), "port": SERVICE_PORT, "weight": 100}
        rules.append({"matches": matches, "backendRefs": [backend]})
    default = {"name": group_name(t, groups[0]), "port": SERVICE_PORT, "weight": 100}
    rules.append({"matches": [{"path": {"type": "PathPrefix", "value": "/"}}], "backendRefs": [default]})
    spec: Obj = {"parentRefs": [{"name": cfg.deploy.gateway}]}
    if t.host is not None:
        spec["hostnames"] = [t.host]
    spec["rules"] = rules
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": _meta(t.app, t),
        "spec": spec,
    }


@dataclass(frozen=True)
class Egress:
    """One declared egress entry: a CIDR when the host is an address, else a name NetworkPolicy
    cannot express (the rule then opens the port to any address; the name is annotated)."""

    declared: str
    cidr: str | None
    port: int | None


def parse_egress(entry: str) -> Egress:
    text = entry.strip()
    if "://" in text:
        url = urlsplit(text)
        host = url.hostname or ""
        try:
            explicit = url.port
        except ValueError:
            explicit = None
        port = explicit or {"https": 443, "http": 80, "redis": 6379, "rediss": 6379}.get(url.scheme)
    else:
        host, port = text, None
        head, sep, tail = text.rpartition(":")
        if sep and tail.isdigit() and not head.endswith(":"):
            host, port = head, int(tail)
        host = host.strip("[]")
    try:
        net = ipaddress.ip_network(host, strict=False)
    except ValueError:
        return Egress(entry, None, port)
    return Egress(entry, str(net), port)


def network_policy(program: Program, cfg: GatiConfig, t: Target) -> Obj:
    """Ingress on the app port only; egress to DNS, the state backend and what modules declare."""
    declared = sorted({e for m in program.modules for e in m.egress})
    if cfg.state.backend == "redis":
        declared.append(cfg.state.url or "redis://state:6379")
    egress: list[Obj] = [
        {"ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
    ]
    names: list[str] = []
    for entry in declared:
        e = parse_egress(entry)
        rule: Obj = {}
        if e.cidr is not None:
            rule["to"] = [{"ipBlock": {"cidr": e.cidr}}]
        else:
            names.append(e.declared)
        if e.port is not None:
            rule["ports"] = [{"protocol": "TCP", "port": e.port}]
        if rule and rule not in egress:
            egress.append(rule)
        elif not rule:  # a bare host name: NetworkPolicy can only open every port to every address
            egress.append({"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}, {"ipBlock": {"cidr": "::/0"}}]})
    annotations = {"gati.dev/egress-hosts": ",".join(names)} if names else {}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(t.app, t, None, annotations),
        "spec": {
            "podSelector": {"matchLabels": _selector(t)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"ports": [{"protocol": "TCP", "port": cfg.deploy.port}]}],
            "egress": egress,
        },
    }
