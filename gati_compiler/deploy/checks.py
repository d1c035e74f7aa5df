"""Validity rules for a bundle's objects that the Kubernetes JSON schemas do not express.

Input: the objects (dicts) of one bundle. Output: a list of `Problem`s; empty means valid. The
rules: DNS-1123 names, label keys and values, selectors that match their pod template, Services
that select pods some Deployment runs, HPAs and PDBs that name or select existing Deployments,
well-formed resource quantities, probes on container ports that exist, HTTPRoute backends that
exist, ConfigMaps under the 1 MiB object limit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

DNS_LABEL: Final = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
DNS_SUBDOMAIN: Final = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_NAME: Final = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$")
LABEL_VALUE: Final = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
QUANTITY: Final = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+|[numkMGTPE]|[KMGTPE]i)?$")
IANA_SVC_NAME: Final = re.compile(r"^(?=.*[a-z])[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$")
CONFIGMAP_LIMIT: Final = 1_048_576
# kinds whose names are DNS-1123 labels (the others are subdomains)
_LABEL_NAMED: Final = frozenset({"Service", "Namespace"})


@dataclass(frozen=True)
class Problem:
    where: str  # `Kind/name`
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def _where(obj: Mapping[str, Any]) -> str:
    return f"{obj.get('kind', '?')}/{obj.get('metadata', {}).get('name', '?')}"


def _label_key_ok(key: str) -> bool:
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not DNS_SUBDOMAIN.match(prefix)):
        return False
    return bool(LABEL_NAME.match(name))


def _labels(where: str, labels: Mapping[str, Any], what: str) -> Iterable[Problem]:
    for key, value in labels.items():
        if not _label_key_ok(key):
            yield Problem(where, f"{what} key `{key}` is not a valid label name")
        if not isinstance(value, str) or len(value) > 63 or not LABEL_VALUE.match(value):
            yield Problem(where, f"{what} `{key}` has value `{value}`, not a valid label value")


def _matches(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def _quantities(where: str, resources: Mapping[str, Any]) -> Iterable[Problem]:
    for part in ("requests", "limits"):
        for name, value in (resources.get(part) or {}).items():
            if not isinstance(value, str) or not QUANTITY.match(value):
                yield Problem(where, f"resources.{part}.{name} `{value}` is not a Kubernetes quantity")


def _probe_ports(where: str, container: Mapping[str, Any]) -> Iterable[Problem]:
    ports = container.get("ports") or []
    names = {p.get("name") for p in ports if p.get("name")}
    numbers = {p.get("containerPort") for p in ports}
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        spec = container.get(probe)
        if not spec:
            continue
        action = spec.get("httpGet") or spec.get("tcpSocket") or spec.get("grpc") or {}
        port = action.get("port")
        if port is None:
            continue
        if (isinstance(port, str) and port not in names) or (isinstance(port, int) and port not in numbers):
            yield Problem(where, f"{probe} of container `{container.get('name')}` uses port `{port}` it does not open")


def check_objects(objects: Iterable[Mapping[str, Any]]) -> list[Problem]:
    """Every problem in one bundle's objects (a namespace's worth: names are matched by kind)."""
    objs = list(objects)
    problems: list[Problem] = []
    deployments = {o["metadata"]["name"]: o for o in objs if o.get("kind") == "Deployment"}
    pod_labels = [d["spec"]["template"]["metadata"].get("labels", {}) for d in deployments.values()]
    services = {o["metadata"]["name"]: o for o in objs if o.get("kind") == "Service"}
    seen: set[tuple[str, str]] = set()
    for o in objs:
        where = _where(o)
        meta = o.get("metadata", {})
        name = meta.get("name", "")
        kind = o.get("kind", "")
        if (kind, name) in seen:
            problems.append(Problem(where, "is defined twice"))
        seen.add((kind, name))
        pattern = DNS_LABEL if kind in _LABEL_NAMED else DNS_SUBDOMAIN
        if len(name) > (63 if kind in _LABEL_NAMED else 253) or not pattern.match(name):
            problems.append(
                Problem(where, f"name `{name}` is not a DNS-1123 {'label' if kind in _LABEL_NAMED else 'subdomain'}")
            )
        problems.extend(_labels(where, meta.get("labels") or {}, "label"))
        if kind == "Deployment":
            spec = o["spec"]
            template_labels = spec["template"]["metadata"].get("labels", {})
            problems.extend(_labels(where, template_labels, "pod label"))
            selector = spec["selector"].get("matchLabels", {})
            problems.extend(_labels(where, selector, "selector"))
            if not selector or not _matches(selector, template_labels):
                problems.append(Problem(where, "selector does not match the pod template's labels"))
            for c in spec["template"]["spec"].get("containers", []):
                problems.extend(_quantities(where, c.get("resources") or {}))
                problems.extend(_probe_ports(where, c))
                for p in c.get("ports") or []:
                    if "name" in p and not IANA_SVC_NAME.match(p["name"]):
                        problems.append(Problem(where, f"port name `{p['name']}` is not an IANA service name"))
        elif kind == "Service":
            selector = o["spec"].get("selector") or {}
            problems.extend(_labels(where, selector, "selector"))
            if selector and not any(_matches(selector, labels) for labels in pod_labels):
                problems.append(Problem(where, "selects no pod of any Deployment in the bundle"))
            target_ports = {p.get("targetPort") for p in o["spec"].get("ports", [])}
            for labels, d in zip(pod_labels, deployments.values(), strict=True):
                if selector and _matches(selector, labels):
                    opened = {
                        x
                        for c in d["spec"]["template"]["spec"]["containers"]
                        for p in c.get("ports") or []
                        for x in (p.get("name"), p.get("containerPort"))
                    }
                    for tp in target_ports - opened - {None}:
                        problems.append(
                            Problem(where, f"targetPort `{tp}` is not a port of Deployment/{d['metadata']['name']}")
                        )
        elif kind == "HorizontalPodAutoscaler":
            ref = o["spec"]["scaleTargetRef"]
            if ref.get("kind") != "Deployment" or ref.get("name") not in deployments:
                problems.append(
                    Problem(where, f"scales {ref.get('kind')}/{ref.get('name')}, which the bundle does not hold")
                )
            if o["spec"].get("minReplicas", 1) > o["spec"]["maxReplicas"]:
                problems.append(Problem(where, "minReplicas is above maxReplicas"))
        elif kind == "PodDisruptionBudget":
            selector = o["spec"].get("selector", {}).get("matchLabels", {})
            problems.extend(_labels(where, selector, "selector"))
            if not any(_matches(selector, labels) for labels in pod_labels):
                problems.append(Problem(where, "selects no pod of any Deployment in the bundle"))
        elif kind == "NetworkPolicy":
            selector = o["spec"].get("podSelector", {}).get("matchLabels", {})
            problems.extend(_labels(where, selector, "selector"))
        elif kind == "Ingress":
            for rule in o["spec"].get("rules", []):
                for path in rule.get("http", {}).get("paths", []):
                    svc = path["backend"].get("service", {}).get("name")
                    if svc not in services:
                        problems.append(Problem(where, f"routes to Service/{svc}, which the bundle does not hold"))
        elif kind == "HTTPRoute":
            for rule in o["spec"].get("rules", []):
                for ref in rule.get("backendRefs", []):
                    if ref.get("kind", "Service") == "Service" and ref["name"] not in services:
                        problems.append(
                            Problem(where, f"routes to Service/{ref['name']}, which the bundle does not hold")
                        )
        elif kind == "ConfigMap":
            size = sum(len(k) + len(v.encode()) for k, v in (o.get("data") or {}).items())
            if size > CONFIGMAP_LIMIT:
                problems.append(Problem(where, f"holds {size} bytes, above the 1 MiB limit of a ConfigMap"))
    return problems
