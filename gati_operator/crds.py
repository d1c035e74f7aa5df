"""CustomResourceDefinitions of the operator: `GatiApp` and `GatiVersion` (gati.dev/v1alpha1).

Output: the CRDs as dicts (OpenAPI v3 schemas, a status subresource, printer columns so
`kubectl get gativersions` shows phase, weight and readiness). `crds/*.yaml` are these dicts
dumped; a test keeps them in sync.
"""

from __future__ import annotations

from typing import Any, Final

from gati_operator import GROUP, VERSION

Obj = dict[str, Any]

PHASES: Final = ("Pending", "Progressing", "Serving", "RolledBack", "Draining", "Decommissioned")
DEFAULT_STEPS: Final = (5, 25, 50, 100)


def _str(**kw: Any) -> Obj:
    return {"type": "string", **kw}


def _int(**kw: Any) -> Obj:
    return {"type": "integer", **kw}


_CONDITION: Final[Obj] = {
    "type": "object",
    "required": ["type", "status"],
    "properties": {
        "type": _str(),
        "status": _str(enum=["True", "False", "Unknown"]),
        "reason": _str(),
        "message": _str(),
        "lastTransitionTime": _str(format="date-time"),
    },
}

_ROLLOUT: Final[Obj] = {
    "type": "object",
    "properties": {
        "steps": {
            "type": "array",
            "items": _int(minimum=1, maximum=100),
            "default": list(DEFAULT_STEPS),
            "description": "traffic weights in percent, ending at 100",
        },
        "stepSeconds": _int(minimum=0, default=60, description="least time at each step"),
        "maxErrorRate": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.05},
        "minRequests": _int(minimum=0, default=20, description="requests before the error rate counts"),
    },
}


def _crd(kind: str, plural: str, short: str, spec: Obj, status: Obj, columns: list[Obj]) -> Obj:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {"kind": kind, "plural": plural, "singular": kind.lower(), "shortNames": [short]},
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": columns,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "required": ["spec"],
                            "properties": {
                                "apiVersion": _str(),
                                "kind": _str(),
                                "metadata": {"type": "object"},
                                "spec": spec,
                                "status": status,
                            },
                        }
                    },
                }
            ],
        },
    }


def app_crd() -> Obj:
    spec: Obj = {
        "type": "object",
        "required": ["image"],
        "properties": {
            "image": _str(minLength=1),
            "port": _int(minimum=1, maximum=65535, default=8000),
            "replicas": _int(minimum=1, default=2),
            "route": _str(description="the HTTPRoute whose default rule the operator weights"),
            "protectedLabels": {"type": "array", "items": _str(), "default": ["stable"]},
            "drainSeconds": _int(minimum=0, default=3600, description="quiet time before a version goes"),
            "usagePath": _str(default="/_gati/usage"),
            "rollout": _ROLLOUT,
        },
    }
    status: Obj = {
        "type": "object",
        "properties": {
            "currentVersion": _str(),
            "liveVersions": _int(),
            "conditions": {"type": "array", "items": _CONDITION},
        },
    }
    columns = [
        {"name": "Current", "type": "string", "jsonPath": ".status.currentVersion"},
        {"name": "Live", "type": "integer", "jsonPath": ".status.liveVersions"},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ]
    return _crd("GatiApp", "gatiapps", "gapp", spec, status, columns)


def version_crd() -> Obj:
    spec: Obj = {
        "type": "object",
        "required": ["app", "tsv"],
        "properties": {
            "app": _str(minLength=1, description="the GatiApp this version belongs to"),
            "tsv": _str(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"),
            "image": _str(description="defaults to the app's image"),
            "replicas": _int(minimum=0),
            "handlers": {"type": "array", "items": _str()},
            "tags": {"type": "array", "items": _str()},
            "labels": {"type": "array", "items": _str()},
            "sunset": _str(format="date", nullable=True),
            "rollout": _ROLLOUT,
        },
    }
    status: Obj = {
        "type": "object",
        "properties": {
            "phase": _str(enum=list(PHASES)),
            "weight": _int(minimum=0, maximum=100),
            "step": _int(minimum=0),
            "stepStartedAt": _str(format="date-time"),
            "readyReplicas": _int(minimum=0),
            "errorRate": {"type": "number"},
            "lastRequestAt": _str(format="date-time", nullable=True),
            "conditions": {"type": "array", "items": _CONDITION},
        },
    }
    columns = [
        {"name": "App", "type": "string", "jsonPath": ".spec.app"},
        {"name": "TSV", "type": "string", "jsonPath": ".spec.tsv"},
        {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
        {"name": "Weight", "type": "integer", "jsonPath": ".status.weight"},
        {"name": "Ready", "type": "string", "jsonPath": '.status.conditions[?(@.type=="Ready")].status'},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ]
    return _crd("GatiVersion", "gativersions", "gver", spec, status, columns)


def all_crds() -> dict[str, Obj]:
    """File name under `crds/` → CRD."""
    return {"gatiapps.yaml": app_crd(), "gativersions.yaml": version_crd()}
